"""Cut stereo, full-rate versions of the dev clips from their Debian packages (issue 13).

Every clip in ``../shared/audio`` is mono 22050 Hz; ``bench_fullband.py`` needs stereo 44.1
or 48 kHz inputs. The dev set's sources (``../shared/audio/dev/SOURCES.md``) are mostly
stereo Vorbis at 44.1/48 kHz, so this cuts the same excerpts (same start and length) at
their own rate and channels, 16-bit WAV, into a folder OUTSIDE the repository (they are
GPL / CC-BY-SA: local use only)::

    mkdir -p /tmp/src && cd /tmp/src && apt-get download flare-game ufoai-sound ufoai-music
    for d in *.deb; do dpkg-deb -x "$d" x; done
    (cd x && unzip -o usr/share/games/ufoai/base/0snd.pk3 'sound/ambience/*' \\
          && unzip -o usr/share/games/ufoai/base/0music.pk3 music/turinItalyM.ogg)
    python benchmarks/make_stereo_clips.py /tmp/src/x /tmp/stereo_clips

It also writes ``long_mus01_piano_180s.wav``: the first 180 s of the piano piece, the
3-minute stereo song of the time and memory comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import soundfile as sf

#: name -> (path under the unpacked packages, start s, length s), as SOURCES.md cuts them.
CLIPS = {
    "mus01_piano_flare_town": ("usr/share/games/flare/mods/fantasycore/music/town_theme.ogg", 40, 20),
    "mus06_slow_sparse_flare_dungeon": ("usr/share/games/flare/mods/fantasycore/music/dungeon_theme.ogg", 20, 20),
    "mus07_dense_loud_golgotha_turin": ("music/turinItalyM.ogg", 44, 20),
    "amb01_rain": ("usr/share/games/flare/mods/empyrean_campaign/soundfx/environment/rain.ogg", 2, 20),
    "amb04_water_fountain": ("sound/ambience/waterfontain.ogg", 0, 17.5),
    "amb06_night_insects": ("sound/ambience/ufo_night_atm.ogg", 20, 20),
    "amb07_fire": ("sound/ambience/fire.ogg", 0, 10.8),
    "amb08_machine_room": ("sound/ambience/minepump03.ogg", 40, 20),
}
LONG = ("long_mus01_piano_180s", "usr/share/games/flare/mods/fantasycore/music/town_theme.ogg", 0, 180)


def cut(src: Path, dst: Path, start: float, length: float) -> str:
    """Write ``length`` s of ``src`` from ``start`` s as 16-bit WAV at its own rate and channels."""
    info = sf.info(str(src))
    y, sr = sf.read(str(src), dtype="float32", always_2d=True, start=int(start * info.samplerate),
                    frames=int(length * info.samplerate))
    sf.write(str(dst), y, sr, subtype="PCM_16")
    return f"{dst.name}: {sr} Hz, {y.shape[1]} channel(s), {len(y) / sr:.1f} s"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("unpacked", type=Path, help="folder the .deb files (and .pk3 members) were unpacked into")
    p.add_argument("out", type=Path, help="output folder (outside the repository)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (rel, start, length) in CLIPS.items():
        print(cut(args.unpacked / rel, args.out / f"{name}.wav", start, length))
    name, rel, start, length = LONG
    print(cut(args.unpacked / rel, args.out / f"{name}.wav", start, length))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
