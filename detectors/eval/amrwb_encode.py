"""AMR-WB encoder for the offline channels `amrwbg722` and `amrwbg711` (detectors/eval/channel.ts).

Reads 16 kHz mono signed 16-bit little-endian PCM on stdin, writes AMR-WB in the storage format of RFC 4867
section 5 ("#!AMR-WB\\n", then one frame per 20 ms: a table-of-contents octet and its speech bits) on stdout.
The encoder is Debian's libvo-amrwbenc (package libvo-amrwbenc0), called through ctypes, so nothing but the
Python standard library is needed; sox (opencore-amrwb) decodes the result. Debian's sox and ffmpeg carry no
AMR-WB encoder, which is why this file exists.

  python3 detectors/eval/amrwb_encode.py MODE < in.s16 > out.awb

MODE: 0..8 (6.60, 8.85, 12.65, 14.25, 15.85, 18.25, 19.85, 23.05, 23.85 kb/s); 2 (12.65 kb/s) is VoLTE's usual
rate. A last partial frame is padded with silence. DTX is off: every frame is speech, as a call's would be while
its caller speaks. Exit 2: bad MODE; exit 3: the library is missing.
"""
from __future__ import annotations

import ctypes
import sys

FRAME = 320  # 20 ms at 16 kHz
MAX_FRAME_OCTETS = 64  # the largest mode (23.85 kb/s) takes 61 octets with its header


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or not 0 <= int(sys.argv[1]) <= 8:
        print("usage: amrwb_encode.py MODE (0..8) < 16 kHz s16le PCM > AMR-WB storage format", file=sys.stderr)
        return 2
    mode = int(sys.argv[1])
    try:
        lib = ctypes.CDLL("libvo-amrwbenc.so.0")
    except OSError as e:
        print(f"amrwb_encode.py: libvo-amrwbenc is missing (Debian package libvo-amrwbenc0): {e}", file=sys.stderr)
        return 3
    lib.E_IF_init.restype = ctypes.c_void_p
    lib.E_IF_encode.argtypes = [ctypes.c_void_p, ctypes.c_int16, ctypes.POINTER(ctypes.c_int16),
                                ctypes.POINTER(ctypes.c_uint8), ctypes.c_int16]
    lib.E_IF_encode.restype = ctypes.c_int
    lib.E_IF_exit.argtypes = [ctypes.c_void_p]
    pcm = sys.stdin.buffer.read()
    samples = len(pcm) // 2
    frame = (ctypes.c_int16 * FRAME)()
    octets = (ctypes.c_uint8 * MAX_FRAME_OCTETS)()
    out = [b"#!AMR-WB\n"]
    state = lib.E_IF_init()
    try:
        for start in range(0, samples, FRAME):
            n = min(FRAME, samples - start)
            ctypes.memset(frame, 0, ctypes.sizeof(frame))
            ctypes.memmove(frame, pcm[2 * start:2 * (start + n)], 2 * n)
            size = lib.E_IF_encode(state, mode, frame, octets, 0)
            if not 0 < size <= MAX_FRAME_OCTETS:
                print(f"amrwb_encode.py: the encoder returned {size} octets for frame {start // FRAME}", file=sys.stderr)
                return 4
            out.append(bytes(octets[:size]))
    finally:
        lib.E_IF_exit(state)
    sys.stdout.buffer.write(b"".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
