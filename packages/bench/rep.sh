#!/bin/bash
# rep.sh K variant... : runs pp.mjs variants K times alternating; prints min/median user and cpu µs/trip
K=$1; shift
for i in $(seq $K); do for v in "$@"; do node pp.mjs $v ${CONNS:-50} ${TRIPS:-100000}; done; done | node -e '
const rows = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => l.split(/\s+/))
const by = {}
for (const r of rows) (by[r[0]] ??= []).push([Number(r[5]), Number(r[3])])
const st = (xs) => { xs.sort((a, b) => a - b); return `min ${xs[0].toFixed(2)} med ${xs[xs.length >> 1].toFixed(2)}` }
for (const [k, v] of Object.entries(by)) console.log(k.padEnd(8), "user", st(v.map((x) => x[0])), "| cpu", st(v.map((x) => x[1])))'
