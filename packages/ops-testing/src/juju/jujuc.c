/*
 * The simulator's hook-tool client in C, modelled on Juju's jujuc: every hook tool on PATH is this
 * binary (symlinked under the tool's name). It sends its name, argv and (for `--file -`) stdin to
 * the unit agent over the unix socket in JUJU_AGENT_SOCKET_ADDRESS, then relays the reply.
 *
 * Framing (shared with jujuc.cjs and server.ts): request "JUJUC1\n" <context-id> "\n" then
 * <count> "\n" and <count> fields (the tool, each argument, stdin), each <length> "\n" <bytes>.
 * Reply: <exit code> "\n" then two fields, stdout and stderr, framed the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char *buf; static size_t len, cap;
static void put(const char *p, size_t n) {
  if (len + n > cap) { cap = (len + n) * 2 + 4096; buf = realloc(buf, cap); if (!buf) exit(1); }
  memcpy(buf + len, p, n); len += n;
}
static void putf(const char *p, size_t n) { char h[32]; int k = snprintf(h, sizeof h, "%zu\n", n); put(h, k); put(p, n); }
static void die(const char *tool, const char *msg) { fprintf(stderr, "ERROR %s: %s\n", tool, msg); exit(1); }

int main(int argc, char **argv) {
  const char *tool = strrchr(argv[0], '/'); tool = tool ? tool + 1 : argv[0];
  const char *sock = getenv("JUJU_AGENT_SOCKET_ADDRESS");
  if (!sock || !*sock) die(tool, "JUJU_AGENT_SOCKET_ADDRESS is not set; hook tools only work inside a hook");
  int want_stdin = 0;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--file=-") || (!strcmp(argv[i], "--file") && i + 1 < argc && !strcmp(argv[i + 1], "-"))) want_stdin = 1;
  char *in = NULL; size_t in_len = 0, in_cap = 0; ssize_t r;
  if (want_stdin) {
    for (;;) {
      if (in_len == in_cap) { in_cap = in_cap * 2 + 65536; in = realloc(in, in_cap); if (!in) exit(1); }
      r = read(0, in + in_len, in_cap - in_len);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      in_len += r;
    }
  }
  const char *ctx = getenv("JUJU_CONTEXT_ID"); if (!ctx) ctx = "";
  put("JUJUC1\n", 7); put(ctx, strlen(ctx)); put("\n", 1);
  char h[32]; int k = snprintf(h, sizeof h, "%d\n", argc + 1); put(h, k);
  putf(tool, strlen(tool));
  for (int i = 1; i < argc; i++) putf(argv[i], strlen(argv[i]));
  putf(in ? in : "", in_len);

  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr; memset(&addr, 0, sizeof addr); addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, sock, sizeof addr.sun_path - 1);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die(tool, "cannot reach the unit agent");
  for (size_t off = 0; off < len;) {
    r = write(fd, buf + off, len - off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die(tool, "cannot send to the unit agent");
    off += r;
  }
  shutdown(fd, SHUT_WR);
  len = 0;
  char chunk[65536];
  while ((r = read(fd, chunk, sizeof chunk)) != 0) { if (r < 0) { if (errno == EINTR) continue; die(tool, "cannot read the unit agent's reply"); } put(chunk, r); }
  put("", 1);
  char *p = buf, *end = buf + len - 1;
  int code = (int)strtol(p, &p, 10); if (*p++ != '\n') die(tool, "unreadable reply");
  for (int f = 0; f < 2; f++) {
    size_t n = strtoul(p, &p, 10); if (*p++ != '\n' || p + n > end) die(tool, "unreadable reply");
    for (size_t off = 0; off < n;) { r = write(f == 0 ? 1 : 2, p + off, n - off); if (r <= 0) break; off += r; }
    p += n;
  }
  return code;
}
