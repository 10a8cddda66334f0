/*
 * What reading a process costs at the least: for every pid given, hold
 * /proc/PID/stat and /proc/PID/statm open and pread both from offset 0, once
 * per round. Nothing is parsed. The Node benchmark runs this in the same run
 * as its own collectors so that their cost can be stated as a ratio.
 *
 *   procfloor ROUNDS PID...   ->   prints "floor_ns_per_pid <wall>" and
 *                                 "cpu_ns_per_pid <CPU time>"
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double clock_ns(clockid_t clock) {
  struct timespec now;
  clock_gettime(clock, &now);
  return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

static int open_proc_file(const char *pid, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/%s", pid, name);
  return open(path, O_RDONLY | O_CLOEXEC);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ROUNDS PID...\n", argv[0]);
    return 2;
  }
  int rounds = atoi(argv[1]);
  int count = argc - 2;
  int *stat_fds = calloc((size_t)count, sizeof *stat_fds);
  int *statm_fds = calloc((size_t)count, sizeof *statm_fds);
  if (rounds < 1 || !stat_fds || !statm_fds) return 2;
  for (int i = 0; i < count; i++) {
    stat_fds[i] = open_proc_file(argv[i + 2], "stat");
    statm_fds[i] = open_proc_file(argv[i + 2], "statm");
    if (stat_fds[i] < 0 || statm_fds[i] < 0) {
      fprintf(stderr, "cannot open /proc/%s\n", argv[i + 2]);
      return 1;
    }
  }
  char buffer[4096];
  long total_bytes = 0; /* used, so the compiler keeps every read */
  double started = clock_ns(CLOCK_MONOTONIC);
  double started_cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  for (int round = 0; round < rounds; round++) {
    for (int i = 0; i < count; i++) {
      total_bytes += pread(stat_fds[i], buffer, sizeof buffer, 0);
      total_bytes += pread(statm_fds[i], buffer, sizeof buffer, 0);
    }
  }
  double cpu_per_pid = (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - started_cpu) / rounds / count;
  double per_pid = (clock_ns(CLOCK_MONOTONIC) - started) / rounds / count;
  printf("floor_ns_per_pid %.0f\ncpu_ns_per_pid %.0f\nbytes %ld\n", per_pid, cpu_per_pid, total_bytes);
  return 0;
}
