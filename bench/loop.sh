#!/usr/bin/env bash
# Regenerates docs/loop.md and docs/loop.svg: builds recipes/person (its
# bootstrap loop on synthetic pool images with a simulated reviewer), reads
# each round's figures from `dsbuild review status --json` (the documented
# fields; nothing here reads lockfiles or the store) and tabulates, per
# bootstrap and round, the good / needs-correction / bad shares, the usable
# share, the validation IoU of the model that made the predictions and the
# distribution of the predictions' IoU against the truth, with a plot of
# the good and usable shares per round.
#
# Usage: [SEEDS="1 2 3" [PARALLEL=1]] [OUT=docs/loop.md] bench/loop.sh [extra dsbuild build flags, e.g. -var rounds=5]
#
# OUT names the page written (default docs/loop.md), its plot beside it
# with the extension .svg: a -var profile gets a page of its own.
#
# With SEEDS, and only when the recipe declares a variable "seed", the
# recipe is built once per value with -var seed=VALUE, and each figure is
# reported as the mean over the seeds with its range (min–max). Without
# extra arguments a plain build follows, so that recipes/person/dsbuild.lock
# records the recipe's defaults (every step is in the store already when
# the default seed is one of SEEDS). Without a seed variable, SEEDS is
# ignored with a warning and the recipe is built once.
#
# With extra arguments (a -var profile), the script puts back the
# recipes/person/dsbuild.lock it found when it ends, however it ends: the
# builds record their -var values in it, and a profile's run must leave
# the committed lockfile as it was.
#
# With PARALLEL=1 the seeds' builds run side by side, each on a copy of
# the recipe's *.hcl files in recipes/<name>.seed-<VALUE> (beside the
# recipe, so its relative paths hold; removed at exit; its lockfile is
# its own, so they leave recipes/person/dsbuild.lock alone), sharing the
# store. A build that trains uses about 1.4 cores alone, so side by side
# the seeds keep 2 cores busy; each seed's time is then its own wall time,
# and the page also gives the wall time of them all.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOAMD64=v1
recipe=recipes/person
dsb=bench/out/dsbuild
go build -o "$dsb" ./cmd/dsbuild
go build -o bench/out/looptable ./bench/looptable
tmp=$(mktemp -d)
copies=()
cleanup() {
	if [ -e "$tmp/lock.saved" ]; then
		# The lockfile as the run found it, put back in one rename.
		back=$(mktemp "$recipe/.dsbuild.lock.XXXXXX") && cp "$tmp/lock.saved" "$back" && mv "$back" "$recipe/dsbuild.lock"
	fi
	rm -rf "$tmp"
	if [ ${#copies[@]} -gt 0 ]; then rm -rf "${copies[@]}"; fi
}
trap cleanup EXIT
if [ $# -gt 0 ] && [ -e "$recipe/dsbuild.lock" ]; then
	cp "$recipe/dsbuild.lock" "$tmp/lock.saved"
fi

seeds=()
if [ -n "${SEEDS:-}" ]; then
	if grep -qE '^[[:space:]]*variable[[:space:]]+"seed"' "$recipe"/*.hcl; then
		read -r -a seeds <<<"$SEEDS"
	else
		echo "bench/loop.sh: $recipe declares no variable \"seed\"; SEEDS ignored, building once" >&2
	fi
fi

times=()
statuses=()
if [ ${#seeds[@]} -eq 0 ]; then
	start=$(date +%s)
	"$dsb" build "$@" "$recipe"
	times+=("$(( $(date +%s) - start )) s")
	"$dsb" review status --json "$recipe" >"$tmp/default.jsonl"
	statuses+=("$tmp/default.jsonl")
	cmdline="bench/loop.sh $*"
elif [ "${PARALLEL:-}" = 1 ]; then
	all=$(date +%s)
	pids=()
	for s in "${seeds[@]}"; do
		dir="$recipe.seed-$s"
		if [ -e "$dir" ]; then
			echo "bench/loop.sh: $dir exists; remove it (a copy left by a killed run) and run again" >&2
			exit 1
		fi
		copies+=("$dir")
		mkdir "$dir"
		cp "$recipe"/*.hcl "$dir"/
		(
			start=$(date +%s)
			"$dsb" build -var "seed=$s" "$@" "$dir" >"$tmp/build-$s.log" 2>&1
			echo "$(( $(date +%s) - start ))" >"$tmp/time-$s"
		) &
		pids+=($!)
	done
	failed=0
	for i in "${!pids[@]}"; do
		if ! wait "${pids[$i]}"; then
			echo "bench/loop.sh: the build of seed ${seeds[$i]} failed; its output:" >&2
			cat "$tmp/build-${seeds[$i]}.log" >&2
			failed=1
		fi
	done
	[ $failed = 0 ] || exit 1
	for s in "${seeds[@]}"; do
		times+=("seed $s: $(cat "$tmp/time-$s") s")
		"$dsb" review status --json "$recipe.seed-$s" >"$tmp/seed-$s.jsonl"
		statuses+=("$tmp/seed-$s.jsonl")
	done
	times+=("all ${#seeds[@]} side by side: $(( $(date +%s) - all )) s of wall time")
	if [ $# -eq 0 ]; then
		"$dsb" build "$recipe" >/dev/null
	fi
	cmdline="PARALLEL=1 SEEDS=\"${seeds[*]}\" bench/loop.sh $*"
else
	for s in "${seeds[@]}"; do
		start=$(date +%s)
		"$dsb" build -var "seed=$s" "$@" "$recipe"
		times+=("seed $s: $(( $(date +%s) - start )) s")
		# The lockfile records seed=$s: status reads the figures of that build.
		"$dsb" review status --json "$recipe" >"$tmp/seed-$s.jsonl"
		statuses+=("$tmp/seed-$s.jsonl")
	done
	if [ $# -eq 0 ]; then
		"$dsb" build "$recipe" >/dev/null
	fi
	cmdline="SEEDS=\"${seeds[*]}\" bench/loop.sh $*"
fi
out=${OUT:-docs/loop.md}
svg=${out%.md}.svg
tables=$(bench/out/looptable -svg "$svg" "${statuses[@]}")
ablation=false
grep -q 'person_nomerge' "${statuses[0]}" && ablation=true
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
took=$(printf '%s, ' "${times[@]}")
took=${took%, }
{
	echo "# The bootstrap loop's effect"
	echo
	echo "Generated by \`${cmdline% }\` on $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $(go env GOVERSION);"
	echo "the build took ${took} (steps already in the store are not rebuilt; run with an"
	echo "empty \`DSBUILD_CACHE\` for the full time). Do not edit by hand: the tables and"
	echo "[$(basename "$svg")]($(basename "$svg")) come from \`dsbuild review status --json recipes/person\`."
	echo
	echo "\`recipes/person\` trains on its seed data, then each round pre-annotates the"
	echo "next batch of pool images with the last model (the pool is synthetic domain"
	echo "\"b\": other backgrounds, lighting, scales and figure styles than the seed data;"
	echo "docs/datasets.md), has them reviewed by"
	echo "the simulated reviewer (the IoU of the predicted and true person masks against"
	echo "the recipe's \`good\` and \`bad\` bars; corrected to the truth in between), merges"
	echo "the accepted images in and trains again from the last model. \"Its val IoU\" is"
	echo "the validation IoU of the model that made the round's predictions (the epoch"
	echo "its train step kept); \"usable\" is good + needs correction. Percentages are of"
	if $ablation; then
		echo "the images reviewed. Bootstrap \`person_nomerge\` is the same loop with"
		echo "\`merge = false\`: the same pool, reviews and training, without merging the"
		echo "reviewed images back; the difference is what the loop itself buys."
	else
		echo "the images reviewed. (This run left out the ablation, \`-var ablation=false\`.)"
	fi
	echo
	echo "![good and usable share of the predictions per round]($(basename "$svg"))"
	echo
	echo "$tables"
	echo
	echo "**The seed's figures** (Supervisely's Person dataset, built with this loop over six"
	echo "rounds on real photos with people reviewing): the share of usable predictions rose"
	echo "from about 20 % in the first round to about 70 % in the last. The synthetic pool"
	echo "and the small CPU-trained network here are far from that setting."
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
