"""The PocketSphinx decoder process of the local recogniser (see local_stt.py).

PocketSphinx keeps the GIL while it decodes, so it runs in its own process, started as a
plain script (no multiprocessing, which would re-import the parent's main module). It reads
utterances from stdin and writes what it heard to stdout, each message a 4-byte big-endian
length and its bytes: 16 kHz mono 16-bit PCM in, UTF-8 text out. It exits at end of input.
"""

import struct
import sys

# Initial cepstral mean for telephone-band speech upsampled to 16 kHz. The model's default
# suits wideband audio, and live normalisation only adapts after a first utterance, which
# would otherwise be misheard.
TELEPHONE_CMN = "49.8,2.39,0.31,5.46,-0.19,-0.13,-3.33,-6.43,-8.15,1.94,0.01,2.55,-3.95"
DECODER_SAMPLE_RATE = 16000  # what the acoustic model was trained on: the phone audio is resampled to it


def recognise(decoder, pcm: bytes) -> str:
    decoder.start_utt()
    if pcm:  # PocketSphinx rejects an empty buffer
        decoder.process_raw(pcm, False, False)  # full_utt=True would switch to batch CMN: worse here
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr.strip() if hypothesis is not None else ""


def read_exactly(stream, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def main() -> None:
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=DECODER_SAMPLE_RATE, cmninit=TELEPHONE_CMN, loglevel="FATAL")
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while (header := read_exactly(source, 4)) is not None:
        pcm = read_exactly(source, struct.unpack(">I", header)[0])
        if pcm is None:
            return
        text = recognise(decoder, pcm).encode()
        sink.write(struct.pack(">I", len(text)) + text)
        sink.flush()


if __name__ == "__main__":
    main()
