#!/bin/bash
# Issue 15: the server-saturated echo matrix (BENCHMARKS-saturated.md) and the
# A/B against an older build. Needs: D=folder holding corio-bench and
# corio-bench-baseline (an older build); OUT=results.
set -u
D=${D:-$PWD/.devtools}; B=$D/corio-bench
O=${OUT:-/tmp/out}; mkdir -p $O
ulimit -n 65536 2>/dev/null; ulimit -l unlimited 2>/dev/null
{ uname -a; nproc; grep -m1 'model name' /proc/cpuinfo; } > $O/machine.txt 2>&1
# A/B: the corio of issue 15's report (6e91b55) against today's, same load generator.
{ echo "##### baseline 6e91b55 servers"
  CORIO_BENCH_SERVER_BIN=$D/corio-bench-baseline $B echo --cases 256x64,1024x64,256x1024 --contenders corio,raw-uring --reps 2 --secs 1.2 --client-cpus 1-8
  echo "##### today's servers"
  $B echo --cases 256x64,1024x64,256x1024 --contenders corio,raw-uring --reps 2 --secs 1.2 --client-cpus 1-8
} 2>&1 | grep -v "^\[echo\]" > $O/ab.txt
grep -E "^#####|^\| (corio|raw-uring) " $O/ab.txt
# The matrix: every contender, sleeping load generators on CPUs 1-8.
$B echo --cases 16x64,16x1024,16x16384,256x64,256x1024,256x16384,1024x64,1024x1024,1024x16384 \
  --contenders corio,corio-multishot,tokio,tokio-uring,monoio,compio,raw-uring,epoll \
  --reps 3 --secs 1.2 --client-cpus 1-8 --tcp-counters 2>&1 | grep -v "^\[echo\]" | tee $O/saturated.md | grep -E "^### C|^Regime" 
echo done
