#!/usr/bin/env bash
# Regenerates packages/<pkg>/src/index.ts: one namespace export per public module (src/*.ts).
set -eu
for dir in "$@"; do
  out="$dir/src/index.ts"
  {
    for f in $(ls "$dir"/src/*.ts | sort); do
      name=$(basename "$f" .ts)
      [ "$name" = index ] && continue
      [ "$name" = bin ] && continue
      printf '/**\n * @since 0.1.0\n */\nexport * as %s from "./%s.js"\n' "$name" "$name"
    done
  } > "$out"
done
