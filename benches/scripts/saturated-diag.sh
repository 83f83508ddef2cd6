#!/bin/bash
# Issue 15 diagnostics on a machine with spare CPUs: tracepoint counts on the
# server CPU, perf profiles of CPU 0, and corio variants (CORIO_EXP_* were
# switches of a temporary build). Needs: D=folder holding corio-bench, perf
# (and lib/ with perf's libraries if carried from another machine); OUT=results.
set -u
D=${D:-.devtools}; B=$D/corio-bench; P=$D/perf
O=${OUT:-/tmp/out}; mkdir -p $O
export LD_LIBRARY_PATH=$PWD/$D/lib
ulimit -n 65536 2>/dev/null; ulimit -l unlimited 2>/dev/null
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
echo -1 > /proc/sys/kernel/perf_event_paranoid 2>/dev/null
echo 0 > /proc/sys/kernel/kptr_restrict 2>/dev/null
{ uname -a; nproc; grep -m1 'model name' /proc/cpuinfo; echo "io_uring_disabled=$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null)"; $P --version; } > $O/machine.txt 2>&1
cat $O/machine.txt
T=/sys/kernel/tracing/events
EV="cpu-clock,context-switches"
for e in syscalls:sys_enter_io_uring_enter io_uring:io_uring_submit_req io_uring:io_uring_poll_arm io_uring:io_uring_task_add io_uring:io_uring_local_work_run io_uring:io_uring_task_work_run io_uring:io_uring_cqring_wait irq:softirq_entry irq_vectors:call_function_single_entry irq_vectors:reschedule_entry irq_vectors:local_timer_entry ipi:ipi_send_cpu sched:sched_wakeup net:net_dev_xmit sock:sk_data_ready timer:timer_start skb:consume_skb; do
  [ -d $T/${e%%:*}/${e#*:} ] && EV="$EV,$e"
done
echo "events: $EV"
CL=${CL:-2-9}
pidof() { pgrep -f "corio-bench serve $1\$" | head -1; }
# A: counters on the server CPU and system-wide, spinning clients.
for cs in 1024x64 256x64; do
 for c in corio raw-uring compio monoio; do
  [ $cs = 256x64 ] && [ $c = monoio ] && continue
  $B echo --cases $cs --contenders $c --reps 1 --secs 3 --spin --client-cpus $CL > $O/a.tmp 2>&1 &
  bp=$!; sleep 1.6
  $P stat -C 0 -e $EV -x, -o $O/s0.tmp -- sleep 1.5 &
  $P stat -a -e $EV -x, -o $O/sa.tmp -- sleep 1.5
  wait $bp
  { echo "=== $cs $c"; grep "^| $c " $O/a.tmp; echo "-- cpu0"; cat $O/s0.tmp; echo "-- all"; cat $O/sa.tmp; } >> $O/stats.txt
 done
done
rm -f $O/*.tmp
# B: profiles of the server CPU at C=1024 x 64 B, spinning clients.
for c in corio raw-uring compio; do
  $B echo --cases 1024x64 --contenders $c --reps 1 --secs 3 --spin --client-cpus $CL > $O/b.tmp 2>&1 &
  bp=$!; sleep 1.6
  $P record -F 4999 -g -C 0 -o /tmp/p-$c.data -- sleep 2 > /dev/null 2>&1
  wait $bp
  { grep "^| $c " $O/b.tmp; $P report -i /tmp/p-$c.data --no-children --sort dso --stdio 2>/dev/null | grep -v "^#" | grep -v "^$" | head -8;
    $P report -i /tmp/p-$c.data --no-children --sort sym -g none --percent-limit 0.4 --stdio 2>/dev/null | grep -v "^#" | grep -v "^$" | head -70;
    $P report -i /tmp/p-$c.data --no-children --sort sym -g caller,0.5,callee --percent-limit 3 --stdio 2>/dev/null | grep -v "^$" | head -400; } > $O/prof-$c.txt
done
rm -f $O/b.tmp
# C: variants (spinning clients), then sleeping clients.
{ $B echo --cases 256x64,1024x64 --contenders corio,raw-uring,compio --spin --reps 2 --secs 2 --client-cpus $CL
  echo "##### NOFIXED"; CORIO_EXP_NOFIXED=1 $B echo --cases 256x64,1024x64 --contenders corio --spin --reps 2 --secs 2 --client-cpus $CL
  echo "##### NOREGRING"; CORIO_EXP_NOREGRING=1 $B echo --cases 256x64,1024x64 --contenders corio --spin --reps 2 --secs 2 --client-cpus $CL
} 2>&1 | grep -v "^\[echo\]" > $O/variants.txt
echo done
