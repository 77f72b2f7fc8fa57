/**
 * bench:hook's timer, in C so it adds nothing measurable: `cputime <file> <command> [args...]` runs
 * the command, waits for it, and writes to <file> the CPU time (user + system, in microseconds) of
 * the command and of every process it waited for (getrusage RUSAGE_CHILDREN), then exits with the
 * command's status.
 */
export const CPU_TIME_SOURCE = `#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: cputime <file> <command> [args...]\\n"); return 2; }
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 2; }
  if (pid == 0) { execvp(argv[2], argv + 2); perror(argv[2]); _exit(127); }
  int status;
  if (waitpid(pid, &status, 0) < 0) { perror("waitpid"); return 2; }
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  FILE *f = fopen(argv[1], "w");
  if (!f) { perror(argv[1]); return 2; }
  fprintf(f, "%ld\\n", (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
`;
