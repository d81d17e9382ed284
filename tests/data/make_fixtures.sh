#!/bin/sh
# make_fixtures.sh: rebuild the committed speech fixtures in tests/data/speech/ from
# Debian packages. Real human speech comes from codec2-examples and alsa-utils;
# sentences with known text come from festival (+ festvox-us-slt-hts) and flite.
# The files are committed (about 1.2 MB in all) so that the tests read them directly;
# tests/test_fixtures.py runs this script into a temporary folder and checks that it
# makes the same bytes. To redo them:
#
#   apt-get install -y codec2-examples alsa-utils festival festvox-us-slt-hts flite
#   sh tests/data/make_fixtures.sh [OUT_DIR]
#
# Each synthetic file's text is in transcripts.tsv (file<TAB>text), for
# intelligibility checks with an offline ASR.
set -eu
out="${1:-$(dirname "$0")/speech}"  # optional argument: another output folder
mkdir -p "$out"

need() { [ -e "$1" ] || { echo "missing $1: apt-get install -y $2" >&2; exit 1; }; }
need /usr/share/codec2/raw/speech_orig_16k.wav codec2-examples
need /usr/share/sounds/alsa/Front_Center.wav alsa-utils
command -v text2wave >/dev/null || { echo "missing text2wave: apt-get install -y festival festvox-us-slt-hts" >&2; exit 1; }
command -v flite >/dev/null || { echo "missing flite: apt-get install -y flite" >&2; exit 1; }

# Real speech: 10.8 s of a male talker at 16 kHz (16-bit PCM), the codec2 test
# sentences at 8 kHz (16-bit PCM and mu-law), and the ALSA channel names at 48 kHz.
cp /usr/share/codec2/raw/speech_orig_16k.wav "$out/codec2_speech_16k.wav"
cp /usr/share/codec2/wav/hts1a.wav "$out/codec2_hts1a_8k.wav"
cp /usr/share/codec2/wav/cross.wav "$out/codec2_cross_8k_ulaw.wav"
cp /usr/share/sounds/alsa/Front_Center.wav "$out/alsa_front_center_48k.wav"
cp /usr/share/sounds/alsa/Front_Left.wav "$out/alsa_front_left_48k.wav"

printf 'file\ttext\n' > "$out/transcripts.tsv"
printf 'alsa_front_center_48k.wav\tfront center\n' >> "$out/transcripts.tsv"
printf 'alsa_front_left_48k.wav\tfront left\n' >> "$out/transcripts.tsv"

# Synthetic speech with known text.
say_festival() {  # file text
    printf '%s' "$2" | text2wave -eval '(voice_cmu_us_slt_arctic_hts)' -o "$out/$1"
    printf '%s\t%s\n' "$1" "$2" >> "$out/transcripts.tsv"
}
say_flite() {  # voice file text
    flite -voice "$1" -t "$3" -o "$out/$2"
    printf '%s\t%s\n' "$2" "$3" >> "$out/transcripts.tsv"
}
say_festival festival_slt.wav "the quick brown fox jumps over the lazy dog"
say_flite kal flite_kal.wav "please call stella and ask her to bring these things"
say_flite awb flite_awb.wav "the birch canoe slid on the smooth planks"
say_flite rms flite_rms.wav "glue the sheet to the dark blue background"
say_flite slt flite_slt.wav "it is easy to tell the depth of a well"
ls -l "$out"
