#!/usr/bin/env python3
"""Write the synthetic speech fixtures under tests/fixtures/speech/.

Twelve short English utterances synthesised word by word with espeak-ng, each with an
MFA-style TextGrid (tiers "words" and "phones"), format variants of utt01 for the WAV
readers, three test tones, and train/dev/test TSVs (text, label, id) over the utterances;
and under voices/, short utterances in other espeak-ng voices (low male voices, a creaky
and breathy ones, three accents) for the word-level pitch parity tests.

    ~/venv/bin/python scripts/audio-reference/make_fixtures.py [--out tests/fixtures/speech]

Deterministic: the same espeak-ng and soxr give byte-identical files on every run.
Needs: espeak-ng on PATH; numpy, soundfile, soxr (soxr comes with librosa).

How an utterance is built (all at 16 kHz, int16):
  1. each word is spoken alone: `espeak-ng -v VOICE -s SPEED -p PITCH -w tmp.wav WORD` (22.05 kHz;
     VOICE en-us and SPEED 160 for utt01..utt12, the listed voice and SPEED 200 for voices/);
  2. it is resampled to 16 kHz with soxr "HQ" (what librosa.resample(res_type="soxr_hq") does)
     and quantised to int16 (round(x * 32768), clipped);
  3. leading and trailing samples with |x| < 0.01 of full scale (|q| < 328) are cut off, and then the
     word is shortened further at its end to a multiple of 8 samples (0.5 ms), so that every word
     boundary is a multiple of 0.5 ms and the 4-decimal times in the TextGrid are exact;
  4. the utterance is 0.20 s (voices/: 0.05 s) of digital silence, word, gap, word, ..., word, the
     same silence again, with gaps of 80..150 ms (a fixed function of the utterance and word number,
     whole milliseconds).
A word's interval in the TextGrid is exactly [first sample, one past its last sample) / 16000.
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import soundfile as sf
import soxr

SR = 16000
ESPEAK_SR = 22050
THRESHOLD = 0.01  # of full scale, for trimming a word's leading/trailing silence
EDGE_SILENCE = 0.20  # seconds before the first and after the last word
BLOCK = 8  # word lengths are cut to a multiple of this many samples (0.5 ms at 16 kHz)

# (sentence, label in [-3, 3], espeak-ng pitch 30..70)
UTTERANCES = [
    ("it is so good", 2.4, 50),
    ("the acting was terrible", -2.2, 35),
    ("the film lasts two hours", 0.2, 65),
    ("what a wonderful story", 2.6, 42),
    ("i really hated the ending", -2.0, 70),
    ("the plot was simple", 0.0, 30),
    ("the music was beautiful", 1.8, 58),
    ("this was a complete waste of time", -2.8, 46),
    ("i enjoyed every minute", 2.2, 38),
    ("the story takes place at night", -0.2, 62),
    ("the jokes were stupid", -1.8, 54),
    ("it was a great movie", 2.0, 33),
]
SPLITS = {"train": range(0, 8), "dev": range(8, 10), "test": range(10, 12)}

# voices/: (id, espeak-ng voice, pitch 0..99, sentence, what the voice is). Male voices are
# espeak-ng's +m variants at low pitch settings (F0 down to Praat's 75 Hz floor and below);
# croak has 20 % flutter (irregular periods, creak-like); f3 and f5 have breath noise.
VOICES = [
    ("m7-us", "en-us+m7", 25, "the actress spoke softly", "male, low (75-125 Hz variant), US"),
    ("m1-scot", "en-gb-scotland+m1", 40, "nobody told me", "male, rough, Scottish"),
    ("m4-us", "en-us+m4", 20, "we were lying there", "male, very low (70-110 Hz variant), US"),
    ("croak-us", "en-us+croak", 30, "my brother hates waiting", "male, creaky (flutter), US"),
    ("f3-us", "en-us+f3", 50, "please pass the salt", "female, breathy and rough, US"),
    ("f2-gb", "en+f2", 55, "the sky turned dark", "female, breathy, British"),
    ("f5-car", "en-029+f5", 45, "she sells fresh fish", "female, breathy, Caribbean"),
]
VOICE_SPEED = 200  # words per minute; utt01..utt12 use 160
VOICE_EDGE_SILENCE = 0.05


def to_int16(x):
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def espeak_word(word, pitch, tmpdir, voice="en-us", speed=160):
    path = os.path.join(tmpdir, "word.wav")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, word],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    x, sr = sf.read(path, dtype="float64")
    assert sr == ESPEAK_SR, (word, sr)
    return x


def trim(q):
    """The int16 word q without its edge runs below THRESHOLD, cut to a multiple of BLOCK samples."""
    loud = np.nonzero(np.abs(q.astype(np.int32)) >= THRESHOLD * 32768)[0]
    assert len(loud), "espeak-ng produced silence"
    start, end = loud[0], loud[-1] + 1
    end = start + (end - start) // BLOCK * BLOCK
    return q[start:end]


def gap_ms(utt, k):
    """The gap after word k of utterance utt (both from 0): whole ms in 80..150."""
    return 80 + (utt * 37 + k * 23 + (utt * k) % 11) % 71


def num_to_str(v):
    """Numbers as praatio (which MFA writes its TextGrids with) prints them."""
    v = float(v)
    if abs(v - int(v)) <= 1e-14 * max(abs(v), abs(int(v))):
        return "%d" % v
    return repr(v)


def textgrid(duration, words_tier, phones_tier):
    """Praat's long text format exactly as MFA (via praatio) writes it."""
    out = ['File type = "ooTextFile"\n', 'Object class = "TextGrid"\n\n']
    out.append("xmin = 0 \n")
    out.append("xmax = %s \n" % num_to_str(duration))
    out.append("tiers? <exists> \n")
    out.append("size = 2 \n")
    out.append("item []: \n")
    tab = " " * 4
    for n, (name, intervals) in enumerate([("words", words_tier), ("phones", phones_tier)], 1):
        out.append(tab + "item [%d]:\n" % n)
        out.append(tab * 2 + 'class = "IntervalTier" \n')
        out.append(tab * 2 + 'name = "%s" \n' % name)
        out.append(tab * 2 + "xmin = 0 \n")
        out.append(tab * 2 + "xmax = %s \n" % num_to_str(duration))
        out.append(tab * 2 + "intervals: size = %d \n" % len(intervals))
        for i, (a, b, text) in enumerate(intervals, 1):
            out.append(tab * 2 + "intervals [%d]:\n" % i)
            out.append(tab * 3 + "xmin = %s \n" % num_to_str(a))
            out.append(tab * 3 + "xmax = %s \n" % num_to_str(b))
            out.append(tab * 3 + 'text = "%s" \n' % text.replace('"', '""'))
    return "".join(out)


def write_textgrid(path, duration, words):
    """words: [(word, start, end)] in seconds; silences get "" (words) and "sil" (phones)."""
    words_tier, phones_tier = [], []
    t = 0.0
    for word, a, b in words:
        if a > t:
            words_tier.append((t, a, ""))
            phones_tier.append((t, a, "sil"))
        words_tier.append((a, b, word))
        phones_tier.append((a, b, word))
        t = b
    if duration > t:
        words_tier.append((t, duration, ""))
        phones_tier.append((t, duration, "sil"))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(textgrid(duration, words_tier, phones_tier))


def sec(n_samples):
    return round(n_samples / SR, 4)


def make_utterance(idx, sentence, pitch, tmpdir, voice="en-us", edge_silence=EDGE_SILENCE, speed=160):
    """(int16 audio at 16 kHz, [(word, start_s, end_s)])."""
    edge = np.zeros(int(round(edge_silence * SR)), dtype=np.int16)
    pieces, words, pos = [edge], [], len(edge)
    tokens = sentence.split()
    for k, word in enumerate(tokens):
        x = espeak_word(word, pitch, tmpdir, voice, speed)
        y = soxr.resample(x, ESPEAK_SR, SR, quality="HQ")
        q = trim(to_int16(y))
        pieces.append(q)
        words.append((word, sec(pos), sec(pos + len(q))))
        pos += len(q)
        if k + 1 < len(tokens):
            gap = np.zeros(gap_ms(idx, k) * SR // 1000, dtype=np.int16)
            pieces.append(gap)
            pos += len(gap)
    pieces.append(edge)
    audio = np.concatenate(pieces)
    assert len(audio) == pos + len(edge)
    return audio, words


def fade(x, sr, seconds=0.010):
    n = int(round(seconds * sr))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)  # raised cosine, 0 -> ~1
    x = x.copy()
    x[:n] *= ramp
    x[-n:] *= ramp[::-1]
    return x


def write_audio(path, x, sr, subtype):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if subtype == "FLOAT":
        data = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0).astype(np.float32)
        with sf.SoundFile(path, "w", samplerate=sr, channels=1, format="WAV", subtype="FLOAT") as f:
            # libsndfile's PEAK chunk carries a timestamp: leave it out so the file is reproducible
            # (SFC_SET_ADD_PEAK_CHUNK = 0x1050, SF_FALSE).
            sf._snd.sf_command(f._file, 0x1050, sf._ffi.NULL, 0)
            f.write(data)
        return
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    if subtype == "PCM_16":
        data = to_int16(x)
    elif subtype == "PCM_24":
        # libsndfile stores the top 24 bits of an int32
        data = (np.clip(np.round(x * 2.0**23), -(2**23), 2**23 - 1).astype(np.int64) * 256).astype(np.int32)
    elif subtype == "PCM_32":
        data = np.clip(np.round(x * 2.0**31), -(2**31), 2**31 - 1).astype(np.int32)
    else:
        raise ValueError(subtype)
    sf.write(path, data, sr, subtype=subtype)


def read_words(path):
    """[(word, start, end)] of the "words" tier of a TextGrid written above (non-empty intervals)."""
    lines = [l.strip() for l in open(path, encoding="utf-8")]
    tier2 = lines.index('name = "phones"')
    out = []
    for i, l in enumerate(lines[:tier2]):
        if l.startswith("text = ") and l != 'text = ""':
            a = float(lines[i - 2].split("=")[1])
            b = float(lines[i - 1].split("=")[1])
            out.append((l[len('text = "') : -1], a, b))
    return out


def verify(out):
    """Re-read what was written and check the promises the README makes."""
    rows = {}
    for split in SPLITS:
        lines = open(os.path.join(out, split + ".tsv"), "rb").read().decode("utf-8").split("\n")
        assert lines[0] == "text\tlabel\tid" and lines[-1] == "", split
        for line in lines[1:-1]:
            text, label, uid = line.split("\t")
            assert -3.0 <= float(label) <= 3.0
            rows[uid] = text
    assert len(rows) == len(UTTERANCES)
    texts = {uid: text.lower() for uid, text in rows.items()}
    texts.update({"voices/" + v[0]: v[3] for v in VOICES})
    for uid, text in texts.items():
        q, sr = sf.read(os.path.join(out, uid + ".wav"), dtype="int16")
        assert sr == SR and q.ndim == 1
        words = read_words(os.path.join(out, uid + ".TextGrid"))
        assert " ".join(w for w, _a, _b in words) == text, uid
        mask = np.zeros(len(q), dtype=bool)
        for _w, a, b in words:
            i, j = int(round(a * SR)), int(round(b * SR))
            assert abs(i / SR - a) < 1e-9 and abs(j / SR - b) < 1e-9, "times not exact at 4 decimals"
            assert abs(int(q[i])) >= THRESHOLD * 32768 and q[i - 1] == 0 and q[j] == 0, (uid, _w)
            mask[i:j] = True
        assert not q[~mask].any(), "non-silent samples outside the words"
    base, _ = sf.read(os.path.join(out, "utt01.wav"))
    for name, sr, ch, subtype in [
        ("utt01-44100-stereo-pcm24", 44100, 2, "PCM_24"),
        ("utt01-22050-float32", 22050, 1, "FLOAT"),
        ("utt01-8000-pcm32", 8000, 1, "PCM_32"),
    ]:
        info = sf.info(os.path.join(out, "variants", name + ".wav"))
        assert (info.samplerate, info.channels, info.subtype) == (sr, ch, subtype), name
        assert abs(info.duration - len(base) / SR) < 1e-3, name


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(os.path.join(here, "..", "..", "tests", "fixtures", "speech"))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=default_out)
    args = p.parse_args()
    out = args.out
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found (Debian: apt-get install espeak-ng)")
    os.makedirs(out, exist_ok=True)

    timings = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        for i, (sentence, _label, pitch) in enumerate(UTTERANCES):
            uid = "utt%02d" % (i + 1)
            audio, words = make_utterance(i, sentence, pitch, tmpdir)
            sf.write(os.path.join(out, uid + ".wav"), audio, SR, subtype="PCM_16")
            write_textgrid(os.path.join(out, uid + ".TextGrid"), sec(len(audio)), words)
            timings[uid] = (audio, words)
            print(uid, "%.3f s" % (len(audio) / SR), "p=%d" % pitch, sentence)

        for i, (uid, voice, pitch, sentence, _what) in enumerate(VOICES):
            audio, words = make_utterance(100 + i, sentence, pitch, tmpdir, voice, VOICE_EDGE_SILENCE, VOICE_SPEED)
            os.makedirs(os.path.join(out, "voices"), exist_ok=True)
            sf.write(os.path.join(out, "voices", uid + ".wav"), audio, SR, subtype="PCM_16")
            write_textgrid(os.path.join(out, "voices", uid + ".TextGrid"), sec(len(audio)), words)
            print("voices/" + uid, "%.3f s" % (len(audio) / SR), voice, "p=%d" % pitch, sentence)

    # Format variants of utt01 for the readers.
    audio, words = timings["utt01"]
    x = audio.astype(np.float64) / 32768.0
    vdir = os.path.join(out, "variants")
    y = soxr.resample(x, SR, 44100, quality="HQ")
    write_audio(os.path.join(vdir, "utt01-44100-stereo-pcm24.wav"), np.stack([y, y], axis=1), 44100, "PCM_24")
    y = soxr.resample(x, SR, 22050, quality="HQ")
    write_audio(os.path.join(vdir, "utt01-22050-float32.wav"), y, 22050, "FLOAT")
    y = soxr.resample(x, SR, 8000, quality="HQ")
    write_audio(os.path.join(vdir, "utt01-8000-pcm32.wav"), y, 8000, "PCM_32")
    with open(os.path.join(vdir, "utt01.csv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("word,start,end\n")
        for w, a, b in words:
            f.write("%s,%s,%s\n" % (w, a, b))
    with open(os.path.join(vdir, "utt01.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump([{"word": w, "start": a, "end": b} for w, a, b in words], f, indent=1)
        f.write("\n")

    # Tones, 1.0 s at 16 kHz with 10 ms raised-cosine fades; one word "tone" over 0.1..0.9 s.
    t = np.arange(SR) / SR
    tones = {
        "sine-220": 0.5 * np.sin(2 * np.pi * 220.0 * t),
        # linear chirp 110 -> 330 Hz over 1 s: instantaneous frequency 110 + 220 t
        "chirp-110-330": 0.5 * np.sin(2 * np.pi * (110.0 * t + 0.5 * 220.0 * t * t)),
        # uniform white noise in [-0.3, 0.3), numpy default_rng(0)
        "noise": 0.3 * (2.0 * np.random.default_rng(0).random(SR) - 1.0),
    }
    for name, sig in tones.items():
        path = os.path.join(out, "tones", name + ".wav")
        write_audio(path, fade(sig, SR), SR, "PCM_16")
        write_textgrid(os.path.join(out, "tones", name + ".TextGrid"), 1.0, [("tone", 0.1, 0.9)])

    # Data TSVs.
    for split, idxs in SPLITS.items():
        with open(os.path.join(out, split + ".tsv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("text\tlabel\tid\n")
            for i in idxs:
                uid = "utt%02d" % (i + 1)
                text = " ".join(w.upper() for w, _a, _b in timings[uid][1])
                f.write("%s\t%s\t%s\n" % (text, UTTERANCES[i][1], uid))

    verify(out)
    print("wrote and checked", out)


if __name__ == "__main__":
    main()
