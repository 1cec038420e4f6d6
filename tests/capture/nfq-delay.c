/*
 * nfq-delay: delay/jitter for packets sent to an NFQUEUE queue (this kernel has no netem).
 *
 *   nfq-delay QUEUE DELAY_MS JITTER_MS [SEED]
 *
 * Every packet that the queue receives is held for DELAY_MS + uniform(-JITTER_MS, +JITTER_MS)
 * and then accepted (NF_ACCEPT). Packets are never reordered: each input interface (= each
 * direction through the router) is a FIFO, so a packet whose random delay would let it
 * overtake the previous packet from the same interface leaves right after it instead (like a
 * router queue whose delay varies). Nothing is dropped on purpose.
 * SIGTERM/SIGINT: accept every held packet at once, print counters to stderr, exit 0.
 *
 * Build: gcc -O2 -Wall -o nfq-delay nfq-delay.c -lnetfilter_queue -lnfnetlink
 * (Debian: apt-get install -y libnetfilter-queue-dev). netlab.sh builds and runs it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define RING 65536 /* per direction; far more than ever held (~100 pkt/s * 0.2 s) */
#define MAXDIR 8

struct held {
  uint32_t id;
  uint64_t due_us;
};

struct dir {
  uint32_t ifindex;
  struct held ring[RING];
  unsigned head, len;
  uint64_t last_due;
};

static struct dir dirs[MAXDIR];
static unsigned ndirs;
static struct nfq_q_handle *qh;
static uint64_t delay_us, jitter_us, rng;
static unsigned long long n_in, n_out, n_overflow, max_held;
static volatile sig_atomic_t stop;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t xorshift(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void accept_pkt(uint32_t id) {
  if (nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL) < 0) perror("nfq-delay: nfq_set_verdict");
  n_out++;
}

static struct dir *dir_for(uint32_t ifindex) {
  for (unsigned i = 0; i < ndirs; i++)
    if (dirs[i].ifindex == ifindex) return &dirs[i];
  if (ndirs == MAXDIR) return &dirs[MAXDIR - 1];
  dirs[ndirs].ifindex = ifindex;
  return &dirs[ndirs++];
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *m, struct nfq_data *nfa, void *data) {
  (void)q, (void)m, (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  struct dir *d = dir_for(nfq_get_indev(nfa));
  n_in++;
  if (d->len == RING) { /* cannot happen at WebRTC rates; never drop silently */
    n_overflow++;
    accept_pkt(id);
    return 0;
  }
  uint64_t j = jitter_us ? xorshift() % (2 * jitter_us + 1) : 0;
  uint64_t due = now_us() + delay_us + j - jitter_us;
  if (due < d->last_due) due = d->last_due; /* FIFO: never overtake */
  d->last_due = due;
  d->ring[(d->head + d->len) % RING] = (struct held){id, due};
  d->len++;
  unsigned long long held = 0;
  for (unsigned i = 0; i < ndirs; i++) held += dirs[i].len;
  if (held > max_held) max_held = held;
  return 0;
}

/* Accepts every packet that is due (all of them when flush); returns the next due time or 0. */
static uint64_t release(int flush) {
  uint64_t now = now_us(), next = 0;
  for (unsigned i = 0; i < ndirs; i++) {
    struct dir *d = &dirs[i];
    while (d->len && (flush || d->ring[d->head].due_us <= now)) {
      accept_pkt(d->ring[d->head].id);
      d->head = (d->head + 1) % RING;
      d->len--;
    }
    if (d->len && (!next || d->ring[d->head].due_us < next)) next = d->ring[d->head].due_us;
  }
  return next;
}

static void on_signal(int s) {
  (void)s;
  stop = 1;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: nfq-delay QUEUE DELAY_MS JITTER_MS [SEED]\n");
    return 2;
  }
  int queue = atoi(argv[1]);
  delay_us = (uint64_t)atoi(argv[2]) * 1000u;
  jitter_us = (uint64_t)atoi(argv[3]) * 1000u;
  if (jitter_us > delay_us) {
    fprintf(stderr, "nfq-delay: jitter must not exceed delay\n");
    return 2;
  }
  rng = argc == 5 ? strtoull(argv[4], NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  if (!rng) rng = 88172645463325252ull;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  struct nfq_handle *h = nfq_open();
  if (!h) {
    perror("nfq-delay: nfq_open");
    return 1;
  }
  qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
  if (!qh) {
    perror("nfq-delay: nfq_create_queue");
    return 1;
  }
  /* Metadata only: the packet id and input interface are all we need. */
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
    perror("nfq-delay: nfq_set_mode");
    return 1;
  }
  nfq_set_queue_maxlen(qh, 16384);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);
  int fd = nfq_fd(h);
  fprintf(stderr, "nfq-delay: queue %d, delay %llu ms, jitter +-%llu ms, FIFO per input interface\n", queue,
          (unsigned long long)(delay_us / 1000), (unsigned long long)(jitter_us / 1000));

  char buf[65536] __attribute__((aligned));
  while (!stop) {
    uint64_t next = release(0);
    struct pollfd pfd = {fd, POLLIN, 0};
    struct timespec ts, *tp = NULL;
    if (next) {
      uint64_t now = now_us(), wait = next > now ? next - now : 0;
      ts.tv_sec = wait / 1000000u;
      ts.tv_nsec = (long)(wait % 1000000u) * 1000;
      tp = &ts;
    }
    int r = ppoll(&pfd, 1, tp, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      perror("nfq-delay: ppoll");
      break;
    }
    if (r == 0) continue;
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        if (errno == ENOBUFS) { /* kernel dropped queue messages: say so, keep going */
          fprintf(stderr, "nfq-delay: ENOBUFS (netlink receive buffer overrun)\n");
          continue;
        }
        perror("nfq-delay: recv");
        stop = 1;
        break;
      }
      nfq_handle_packet(h, buf, (int)n);
    }
  }
  release(1);
  fprintf(stderr, "nfq-delay: in %llu, out %llu, max held %llu, ring overflow %llu\n", n_in, n_out, max_held,
          n_overflow);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
