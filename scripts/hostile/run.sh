#!/usr/bin/env bash
# The acceptance run of issue 13: every hostile input and careless command must end in exit 2
# with one line naming the file and the problem, or in a correct result; under 1 GB peak RSS
# and 10 s each; no file of the user's changed or removed; no .tmp left; terminal restored.
#
#   scripts/hostile/run.sh [BINARY] [SCRATCH]
#
# BINARY defaults to target/release/cmbert-tui; SCRATCH (created, must be new or empty)
# to /tmp/cmbert-hostile-PID. It builds a tiny corpus and checkpoint ("the user's files"),
# writes the hostile set with make_set.py, runs every case, and prints a markdown table
# (also SCRATCH/report.md; each case's stdout, stderr and time in SCRATCH/logs/).
#
# Every case runs under `timeout` (HOSTILE_TIMEOUT seconds, default 20) and `ulimit -v`
# (HOSTILE_VMEM_KB, default 4000000), so a hang or a blow-up costs at most that: a case that
# hits the memory cap aborts (exit 134) rather than taking the machine down. Peak RSS and
# time come from GNU time (`apt-get install time` where it is missing).
set -u

BIN=$(readlink -f "${1:-target/release/cmbert-tui}")
S=${2:-/tmp/cmbert-hostile-$$}
T=${HOSTILE_TIMEOUT:-20}
VMEM=${HOSTILE_VMEM_KB:-4000000}
HERE=$(cd "$(dirname "$0")" && pwd)
MAX_RSS_MB=1024
MAX_SECS=10

die() { echo "run.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no executable binary at $BIN"
if [ ! -x /usr/bin/time ]; then
    [ "$(id -u)" = 0 ] && apt-get install -y -qq time >/dev/null 2>&1
    [ -x /usr/bin/time ] || die "GNU time is missing: apt-get install time"
fi
for tool in timeout python3 sha256sum tmux; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
if [ -e "$S" ] && [ -n "$(ls -A "$S")" ]; then die "$S exists and is not empty"; fi
mkdir -p "$S" && S=$(readlink -f "$S")
mkdir -p "$S/cwd" "$S/user" "$S/out" "$S/logs" "$S/cache"
DATA=$S/user/data
CK=$S/user/run0/best
SET=$S/set
# Corpus directories this script plants or makes the binary create outside $S: scanned for
# .tmp debris, removed at the end.
EXTRA_DIRS=()
TMUX_SOCKETS=()
cleanup() {
    for sock in "${TMUX_SOCKETS[@]}"; do tmux -L "$sock" kill-server 2>/dev/null; done
    for d in "${EXTRA_DIRS[@]}"; do rm -rf -- "$d"; done
}
trap cleanup EXIT
ROWS=()
WORST_RSS=0 WORST_RSS_CASE=- WORST_SECS=0 WORST_SECS_CASE=-
PASSED=0 TOTAL=0

# ------------------------------------------------------------------ helpers

# Runs "$@" the way every case runs: in $S/cwd, capped, timed, stdin closed, the user's
# environment otherwise (RUST_BACKTRACE unset, as most users have it).
capped() {
    local log=$1; shift
    ( ulimit -v "$VMEM"; cd "$S/cwd" && exec env -u RUST_BACKTRACE XDG_CACHE_HOME="$S/cache" \
        /usr/bin/time -o "$log.time" -f '%M %e' timeout -k 5 "$T" "$@" ) >"$log.out" 2>"$log.err" </dev/null
}

# sha256 of every file under $1 (or of $1), one line each, sorted.
hashes() {
    [ -e "$1" ] || return 0
    find "$1" \( -type f -o -type l \) -print0 | sort -z | xargs -0 -r sha256sum 2>&1
}

# .tmp debris anywhere in the scratch directory and the corpus directories.
tmp_files() {
    find "$S" "${EXTRA_DIRS[@]}" -name '*.tmp*' 2>/dev/null | sort
}

md() { # one table cell: no pipes or newlines, at most $2 characters
    local s=${1//|/\\|}
    s=${s//$'\n'/ }
    [ ${#s} -gt "$2" ] && s="${s:0:$(($2 - 3))}..."
    printf '%s' "$s"
}

# add_row CASE EXPECTED EXIT LINES FIRST RSS_MB SECS VERDICT
add_row() {
    ROWS+=("| $1 | $2 | $3 | $4 | $(md "${5//$S\//}" 100) | $6 | $7 | $(md "$8" 160) |")
    TOTAL=$((TOTAL + 1))
    case $8 in PASS*) PASSED=$((PASSED + 1)) ;; esac
    if [ "$6" != - ] && [ "$6" -gt "$WORST_RSS" ]; then WORST_RSS=$6 WORST_RSS_CASE=$1; fi
    if [ "$7" != - ] && awk -v a="$7" -v b="$WORST_SECS" 'BEGIN { exit !(a > b) }'; then
        WORST_SECS=$7 WORST_SECS_CASE=$1
    fi
    printf '%-28s exit %-4s %s\n' "$1" "$3" "$8" >&2
}

# run_case NAME EXPECTED NEEDLE GUARDED -- COMMAND...
#   EXPECTED: 2 (a clean refusal), 0 (success) or any (either).
#   NEEDLE: what the error line must mention (the file), or - for no check.
#   GUARDED: a file or directory that must come out byte-identical (the user's).
# Sets RC, FIRST and LOG for callers that check more.
run_case() {
    local name=$1 expected=$2 needle=$3 guarded=$4
    shift 5
    LOG=$S/logs/$name
    hashes "$guarded" >"$LOG.guard.before"
    tmp_files >"$LOG.debris.before"
    capped "$LOG" "$@"
    RC=$?
    hashes "$guarded" >"$LOG.guard.after"
    tmp_files >"$LOG.debris.after"
    local rss_mb=- secs=- stat
    stat=$(tail -n 1 "$LOG.time" 2>/dev/null)
    if [[ $stat =~ ^([0-9]+)\ ([0-9.]+)$ ]]; then
        rss_mb=$(( (BASH_REMATCH[1] + 1023) / 1024 ))
        secs=${BASH_REMATCH[2]}
    fi
    # The error: from the first "error:" line to the end (what main prints); without one
    # (a panic, an abort), all of stderr. A second line is shown after " // ".
    local total at lines
    total=$(wc -l <"$LOG.err")
    at=$(grep -n -m1 '^error:' "$LOG.err" | cut -d: -f1)
    if [ -n "$at" ]; then
        lines=$((total - at + 1))
        FIRST=$(tail -n +"$at" "$LOG.err" | head -2 | sed 's/^ *//' | awk 'NR > 1 { printf " // " } { printf "%s", $0 }')
    elif [ "$RC" = 0 ]; then
        lines=-
    else
        # A panic, an abort or a signal: the runtime's message and the line after it, else
        # the last line.
        lines=$total
        at=$(grep -n -m1 -E 'panicked at|memory allocation of|overflowed its stack' "$LOG.err" | cut -d: -f1)
        if [ -n "$at" ]; then
            FIRST=$(tail -n +"$at" "$LOG.err" | grep -v '^note: run with' | head -2 | paste -sd ' ')
        else
            FIRST=$(grep -v -e '^[[:space:]]*$' -e '^note: run with' "$LOG.err" | tail -1)
        fi
    fi
    case $RC in
        124 | 137) FIRST="(killed by timeout after ${T} s) $FIRST" ;;
        0) FIRST=$(tail -n 1 "$LOG.out" | sed 's/^/(ok) /') ;;
    esac
    local why=() changed debris
    changed=$(comm -23 "$LOG.guard.before" "$LOG.guard.after" | wc -l)
    debris=$(comm -13 "$LOG.debris.before" "$LOG.debris.after")
    case $expected:$RC in
        2:2 | any:2)
            [ "$lines" = 1 ] || why+=("$lines error lines")
            if [ "$needle" != - ] && ! grep -qF -- "$needle" <<<"$FIRST"; then why+=("names no $needle"); fi ;;
        0:0 | any:0) ;;
        *:124 | *:137) why+=("hang") ;;
        *:101) why+=("panic") ;;
        *:134) why+=("abort") ;;
        *:139) why+=("crash") ;;
        2:0) why+=("exit 0, expected a refusal") ;;
        *) why+=("exit $RC") ;;
    esac
    [ "$rss_mb" != - ] && [ "$rss_mb" -ge "$MAX_RSS_MB" ] && why+=("RSS ${rss_mb} MB")
    [ "$secs" != - ] && awk -v s="$secs" -v m="$MAX_SECS" 'BEGIN { exit !(s >= m) }' && why+=("${secs} s")
    [ "$changed" -gt 0 ] && why+=("$changed user files changed/removed")
    [ -n "$debris" ] && why+=(".tmp left: $(basename -a $debris | tr '\n' ' ')")
    [ "$RC" != 101 ] && grep -q 'panicked at' "$LOG.err" && why+=("a thread panicked")
    [ -e "$S/cwd/PWNED" ] && why+=("ran code from the file") && rm -f "$S/cwd/PWNED"
    if [ -n "${POSTCHECK:-}" ]; then
        local extra
        extra=$($POSTCHECK)
        [ -n "$extra" ] && why+=("$extra")
    fi
    local verdict=PASS
    if [ ${#why[@]} -gt 0 ]; then verdict="FAIL: $(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')"; fi
    add_row "$name" "$expected" "$RC" "$lines" "$FIRST" "$rss_mb" "$secs" "$verdict"
}

# ------------------------------------------------------------------ the user's files

echo "setup in $S" >&2
capped "$S/logs/setup-corpus" "$BIN" corpus --sizes 8,4,4 --seed 3 --out "$DATA" ||
    die "corpus failed: $(cat "$S/logs/setup-corpus.err")"
capped "$S/logs/setup-train" "$BIN" train --data "$DATA" --audio "$DATA/audio.jsonl" --epochs 1 --headless \
    --out "$S/user/run0" || die "training the base checkpoint failed: $(tail -3 "$S/logs/setup-train.err")"
python3 "$HERE/make_set.py" "$SET" --data "$DATA" --ckpt "$S/user/run0" >&2 || die "make_set.py failed"
# A previous run the user keeps notes in, the target of `train --out` again.
cp -a "$S/user/run0" "$S/user/prev-run"
echo "my notes on this run" | tee "$S/user/prev-run/best/NOTES.md" >"$S/user/prev-run/last/NOTES.md"
# Another of the user's runs, and a downloaded run (not the user's: resuming it may update it)
# whose last/config.json names that run as its output directory.
cp -a "$S/user/run0" "$S/user/victim-run"
echo "my notes on this run" | tee "$S/user/victim-run/best/NOTES.md" >"$S/user/victim-run/last/NOTES.md"
mkdir -p "$S/downloads/crafted-run"
cp -a "$S/user/run0/best" "$S/user/run0/last" "$S/downloads/crafted-run/"
python3 - "$S/downloads/crafted-run/last/config.json" "$S/user/victim-run" <<'EOF'
import json, sys
path, victim = sys.argv[1:]
cfg = json.load(open(path))
cfg["cmbert"]["training"]["spec"].update(out=victim, epochs=2)
json.dump(cfg, open(path, "w"), indent=1)
EOF
# Files the planted corpus links point at.
mkdir -p "$S/user/victims"
for f in train dev test audio corpus train.meta dev.meta test.meta; do
    echo "precious $f: another file of the user's" >"$S/user/victims/$f.txt"
done
hashes "$S/user" >"$S/logs/user.before"
hashes "$SET" >"$S/logs/set.before"

# ------------------------------------------------------------------ the hostile files

while IFS=$'\t' read -r name kind path expected needle _description; do
    [ "$name" = name ] && continue
    F=$SET/$path
    O=$S/out/$name
    case $kind in
        audio) cmd=(eval --checkpoint "$CK" --data "$DATA" --audio "$F") ;;
        bin) cmd=(inspect "$F") ;;
        config) cmd=(train --bert "$F" --data "$DATA" --audio "$DATA/audio.jsonl" --epochs 1 --headless --out "$O") ;;
        features) cmd=(features --audio-dir "$F/wavs" --alignments "$F/align" --data "$F/data" --out "$O/audio.jsonl") ;;
        theme) cmd=(export --checkpoint "$CK" --data "$DATA" --index 0 --theme "$F" --out "$O/attention.json") ;;
        tsv) cmd=(eval --checkpoint "$CK" --data "$F") ;;
        vocab) cmd=(eval --checkpoint "$F" --data "$DATA" --audio "$DATA/audio.jsonl") ;;
        vocab_oov) cmd=(eval --checkpoint "$F" --data "$SET/tsv/oov_data") ;;
        resume) cmd=(train --resume "$F" --headless) ;;
        *) die "cases.tsv: unknown kind $kind" ;;
    esac
    run_case "$name" "$expected" "$needle" "$F" -- "$BIN" "${cmd[@]}"
done <"$SET/cases.tsv"

# ------------------------------------------------------------------ careless commands

# `train --out D` where D holds a previous run (with the user's notes in best/ and last/).
run_case careless_existing_out 2 prev-run "$S/user/prev-run" -- "$BIN" train --data "$DATA" \
    --audio "$DATA/audio.jsonl" --epochs 1 --seed 2 --headless --out "$S/user/prev-run"

# `--resume` of a downloaded run whose last/config.json names the user's other run as its output.
run_case careless_crafted_resume any crafted-run "$S/user/victim-run" -- "$BIN" train \
    --resume "$S/downloads/crafted-run/last" --headless

# The built-in corpus location with planted files. Where it lives is learnt from a probe run
# (today /tmp/cmbert-tui-corpus-vN-seedS; the fix moves it to $XDG_CACHE_HOME/cmbert-tui);
# the probe's place and both of those are planted, for seeds no one else uses. Directories
# made outside $S are ours (fresh seeds) and removed at the end.
SEED=$((3000000000 + $$ * 4))
capped "$S/logs/probe-corpus" "$BIN" train --corpus-seed "$SEED" --epochs 1 --headless --out "$S/out/probe"
probe_dir=$(grep -o "seed $SEED) in .*" "$S/logs/probe-corpus.err" | head -1 | sed 's/^.*) in //')
[ -n "$probe_dir" ] && [ "${probe_dir#"$S"}" = "$probe_dir" ] && EXTRA_DIRS+=("$probe_dir")
corpus_dirs() { # the candidate directories of the corpus of seed $1
    {
        [ -n "$probe_dir" ] && echo "${probe_dir//seed$SEED/seed$1}"
        echo "${TMPDIR:-/tmp}/cmbert-tui-corpus-v1-seed$1"
        echo "$S/cache/cmbert-tui/cmbert-tui-corpus-v1-seed$1"
    } | awk '!seen[$0]++'
}
plant_dir() { # creates $1 if it is new (else says so and fails)
    [ -e "$1" ] && { echo "run.sh: $1 exists already; not planting there" >&2; return 1; }
    mkdir -p "$1" || return 1
    [ "${1#"$S"}" = "$1" ] && EXTRA_DIRS+=("$1")
    return 0
}
# (a) Symlinks where the corpus writer puts its temporary files, pointing at the user's files.
SYMLINK_DIRS=()
for d in $(corpus_dirs $((SEED + 1))); do
    plant_dir "$d" || continue
    SYMLINK_DIRS+=("$d")
    for f in train dev test audio corpus train.meta dev.meta test.meta; do
        ln -s "$S/user/victims/$f.txt" "$d/$f.tmp"
    done
done
symlinks_followed() { # corpus files that are now symlinks (a planted link renamed into place)
    local found
    found=$(find "${SYMLINK_DIRS[@]}" -type l ! -name '*.tmp' -printf '%f ' 2>/dev/null)
    [ -n "$found" ] && echo "corpus files are planted links: $found"
}
POSTCHECK=symlinks_followed run_case careless_planted_symlink any - "$S/user/victims" -- "$BIN" train \
    --corpus-seed $((SEED + 1)) --epochs 1 --headless --out "$S/out/symlink-run"
# (b) A complete corpus planted by someone else (8/4/4 utterances instead of 1284/229/686).
for d in $(corpus_dirs $((SEED + 2))); do
    plant_dir "$d" && cp "$DATA"/* "$d/"
done
trained_on_planted() {
    grep -q "(8 / 4 / 4 utterances)" "$LOG.err" && echo "trained on the planted 8/4/4 corpus"
}
POSTCHECK=trained_on_planted run_case careless_planted_corpus any - "$S/user/victims" -- "$BIN" train \
    --corpus-seed $((SEED + 2)) --epochs 1 --headless --out "$S/out/planted-run"

# Renames that fail: an output path that is an existing directory (with --force).
mkdir -p "$S/out/predictions.jsonl" "$S/out/features.jsonl"
run_case careless_predictions_onto_dir 2 predictions.jsonl "$DATA" -- "$BIN" eval --checkpoint "$CK" \
    --data "$DATA" --predictions "$S/out/predictions.jsonl" --force
W=$SET/features/wav_control
run_case careless_features_onto_dir 2 features.jsonl "$W" -- "$BIN" features --audio-dir "$W/wavs" \
    --alignments "$W/align" --data "$W/data" --out "$S/out/features.jsonl" --force

# `open` in a terminal (tmux, 120x40) killed by a signal: is the terminal usable afterwards?
tmux_case() {
    local name=$1 signal=$2 sock=hostile-$$-$2 shell pid state rc secs
    local log=$S/logs/$name mark=ok-$RANDOM
    TMUX_SOCKETS+=("$sock")
    tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 40 -s h \
        "env -u RUST_BACKTRACE PS1='$ ' HISTFILE=/dev/null bash --norc --noprofile"
    tmux -L "$sock" send-keys -t h "cd '$S/cwd'; stty -g >'$log.stty.before'" Enter
    tmux -L "$sock" send-keys -t h "(ulimit -v $VMEM; exec '$BIN' open '$CK' --data '$DATA'); echo rc=\$?" Enter
    shell=$(tmux -L "$sock" display -p -t h '#{pane_pid}')
    pid=
    for _ in $(seq 100); do # up to 10 s for the app to take the screen
        pid=$(pgrep -P "$shell" | head -1)
        [ -n "$pid" ] && [ "$(tmux -L "$sock" display -p -t h '#{alternate_on}')" = 1 ] && break
        sleep 0.1
    done
    sleep 0.5
    local started=$(date +%s.%N) still=
    [ -n "$pid" ] && kill "-$signal" "$pid"
    for _ in $(seq 50); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    secs=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then still=1; kill -KILL "$pid"; sleep 0.3; fi
    sleep 0.5
    state=$(tmux -L "$sock" display -p -t h \
        'alternate_on=#{alternate_on} mouse_any=#{mouse_any_flag} mouse_all=#{mouse_all_flag} cursor=#{cursor_flag}')
    tmux -L "$sock" send-keys -t h "stty -g >'$log.stty.after'; echo $mark" Enter
    sleep 1
    tmux -L "$sock" capture-pane -p -t h >"$log.pane"
    tmux -L "$sock" kill-server
    rc=$(grep -o 'rc=[0-9]*' "$log.pane" | tail -1 | cut -d= -f2)
    local why=()
    [ -z "$pid" ] && why+=("open never started")
    [ -n "$still" ] && why+=("still running 5 s after SIG$signal")
    [[ $state == *"alternate_on=0 mouse_any=0 mouse_all=0 cursor=1"* ]] || why+=("$state")
    cmp -s "$log.stty.before" "$log.stty.after" || why+=("tty modes changed (stty -g)")
    grep -q "^$mark" "$log.pane" || why+=("shell did not answer")
    local verdict=PASS
    if [ ${#why[@]} -gt 0 ]; then verdict="FAIL: $(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')"; fi
    add_row "$name" "restored" "${rc:-?}" - "SIG$signal after $(md "$state" 80)" - "$secs" "$verdict"
}
tmux_case careless_sigterm_open TERM
tmux_case careless_sighup_open HUP

# ------------------------------------------------------------------ report

hashes "$S/user" >"$S/logs/user.after"
hashes "$SET" >"$S/logs/set.after"
lost=$(cat "$S/logs/user.before" "$S/logs/set.before" | sort | comm -23 - <(cat "$S/logs/user.after" "$S/logs/set.after" | sort) | awk '{print $2}' | sort)
# Debris: .tmp files other than the links planted above.
debris=$(tmp_files | while read -r f; do [ -L "$f" ] || echo "$f"; done)

{
    echo "# Hostile inputs and careless commands: $(basename "$BIN") ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "Binary: \`$BIN\`; each case under \`timeout -k 5 $T\` and \`ulimit -v $VMEM\` (KB); limits: exit 2 with one"
    echo "error line naming the file (or success where a correct result is expected), RSS < $MAX_RSS_MB MB, < $MAX_SECS s,"
    echo "the user's files unchanged, no new \`.tmp\`. RSS of a case that hit the cap (exit 134) is what it had when"
    echo "refused more; without the cap it would have grown further. Inputs: \`$SET/cases.tsv\`; logs: \`$S/logs/\`."
    echo
    echo "| case | expected | exit | lines | first line | RSS MB | s | verdict |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "**$PASSED of $TOTAL pass.** Worst RSS: $WORST_RSS MB ($WORST_RSS_CASE); worst time: $WORST_SECS s ($WORST_SECS_CASE)."
    echo
    if [ -n "$lost" ]; then
        echo "User files changed or removed over the whole run ($(wc -l <<<"$lost")):"
        sed 's/^/- /' <<<"$lost" | head -40
    else
        echo "No user file changed or removed over the whole run."
    fi
    if [ -n "$debris" ]; then
        echo
        echo ".tmp files left over the whole run:"
        sed 's/^/- /' <<<"$debris" | head -40
    fi
    echo
    echo "What each hostile file is (from make_set.py; the careless_* cases are described in run.sh):"
    echo
    awk -F'\t' 'NR > 1 { printf "- %s (%s): %s\n", $1, $2, $6 }' "$SET/cases.tsv"
} | tee "$S/report.md"
