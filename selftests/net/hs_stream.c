// SPDX-License-Identifier: GPL-2.0
/*
 * hs_stream: the traffic checker of the topology tests.
 *
 *   hs_stream server PORT            TCP echo (IPv4 and IPv6), every client
 *   hs_stream client ADDR PORT [--rate HZ] [--size N] [--status FILE]
 *   hs_stream udp-server PORT         UDP echo
 *   hs_stream udp ADDR PORT [--size N] [--count N]
 *
 * The client sends SIZE bytes RATE times a second of a byte pattern that
 * depends on the stream offset, reads the echo and checks every byte. It
 * runs until SIGTERM/SIGINT, then stops sending, waits up to 10 s for the
 * rest of the echo and prints one line:
 *   sent=N verified=N mismatches=N resets=N longest_gap_ms=N.N longest_gap_end=T
 * exiting 0 only when every byte came back intact on the one connection.
 * The longest gap is the longest time data was outstanding with nothing
 * echoed; T is when it ended (unix seconds, wall clock). --status FILE is rewritten every 100 ms with "verified=N".
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off * 131 + (off >> 8) * 7 + (off >> 16)) & 0xff);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int resolve(const char *host, const char *port, int type, struct addrinfo **ai)
{
	struct addrinfo hints = {.ai_socktype = type, .ai_flags = AI_NUMERICHOST};
	int rc = getaddrinfo(host, port, &hints, ai);

	if (rc) {
		fprintf(stderr, "hs_stream: %s port %s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	return 0;
}

static int listen_any(const char *port, int type)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
	int fd = socket(AF_INET6, type, 0), one = 1, zero = 0;

	sa.sin6_port = htons(atoi(port));
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (type == SOCK_STREAM && listen(fd, 64))) {
		perror("hs_stream: listen");
		return -1;
	}
	return fd;
}

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, n - off);

			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	close(fd);
	return NULL;
}

static int tcp_server(const char *port)
{
	int lfd = listen_any(port, SOCK_STREAM);

	if (lfd < 0)
		return 1;
	while (!stop) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t t;

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
	close(lfd);
	return 0;
}

static int udp_server(const char *port)
{
	int fd = listen_any(port, SOCK_DGRAM);
	char buf[65536];

	if (fd < 0)
		return 1;
	while (!stop) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);

		if (n >= 0)
			sendto(fd, buf, n, 0, (struct sockaddr *)&ss, sl);
	}
	close(fd);
	return 0;
}

static int udp_client(const char *host, const char *port, int size, int count)
{
	struct addrinfo *ai;
	uint8_t out[65536], in[65536];
	int fd, ok = 0;

	if (size < 1 || size > 65000 || resolve(host, port, SOCK_DGRAM, &ai))
		return 2;
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		perror("hs_stream: udp connect");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		for (int j = 0; j < size; j++)
			out[j] = pattern((uint64_t)i * size + j);
		if (send(fd, out, size, 0) != size)
			continue;
		if (poll(&p, 1, 2000) != 1)
			continue;
		n = recv(fd, in, sizeof(in), 0);
		ok += n == size && !memcmp(in, out, size);
	}
	printf("udp size=%d sent=%d echoed=%d\n", size, count, ok);
	freeaddrinfo(ai);
	close(fd);
	return ok == count ? 0 : 1;
}

struct stream {
	uint64_t sent, verified, mismatches;
	int resets;
	double last_rx, longest_gap;
	double longest_gap_end; /* wall clock (ms since the epoch) it ended */
};

static void write_status(const char *path, const struct stream *s)
{
	char tmp[512];
	FILE *f;

	if (!path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "verified=%llu sent=%llu mismatches=%llu longest_gap_ms=%.1f\n",
		(unsigned long long)s->verified, (unsigned long long)s->sent,
		(unsigned long long)s->mismatches, s->longest_gap);
	fclose(f);
	rename(tmp, path);
}

/* Reads what is there; returns -1 on a connection error. */
static int rx(int fd, struct stream *s)
{
	uint8_t buf[65536];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	double t = now_ms();

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	for (ssize_t i = 0; i < n; i++)
		s->mismatches += buf[i] != pattern(s->verified + i);
	s->verified += n;
	if (t - s->last_rx > s->longest_gap) {
		struct timespec w;

		clock_gettime(CLOCK_REALTIME, &w);
		s->longest_gap = t - s->last_rx;
		s->longest_gap_end = w.tv_sec * 1e3 + w.tv_nsec / 1e6;
	}
	s->last_rx = t;
	return 0;
}

static int tcp_client(const char *host, const char *port, int rate, int size, const char *status)
{
	struct stream s = {0};
	struct addrinfo *ai;
	uint8_t buf[65536];
	double next, last_status = 0, deadline = 0;
	int fd, one = 1, err = 0;

	if (rate < 1 || rate > 100000 || size < 1 || size > 65536 ||
	    resolve(host, port, SOCK_STREAM, &ai))
		return 2;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		perror("hs_stream: connect");
		return 1;
	}
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	next = s.last_rx = now_ms();
	while (!err) {
		double t = now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int wait;

		if (stop && !deadline)
			deadline = t + 10000;
		if (deadline && (s.verified == s.sent || t > deadline))
			break;
		/* a gap only counts while data is outstanding */
		if (s.verified == s.sent)
			s.last_rx = t;
		if (!deadline && t >= next) {
			for (int i = 0; i < size; i++)
				buf[i] = pattern(s.sent + i);
			int off = 0;

			while (off < size) {
				ssize_t w = send(fd, buf + off, size - off, MSG_DONTWAIT);

				/* a stalled connection waits here; a stop signal
				 * (even one that came just before the send) ends
				 * the run */
				if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
					struct pollfd o = {.fd = fd, .events = POLLOUT};

					if (stop)
						break;
					poll(&o, 1, 100);
					continue;
				}
				if (w <= 0) {
					err = errno ? errno : EPIPE;
					break;
				}
				off += w;
			}
			s.sent += off;
			next += 1000.0 / rate;
			if (next < t - 1000) /* far behind: do not burst */
				next = t;
		}
		if (t - last_status >= 100) {
			write_status(status, &s);
			last_status = t;
		}
		wait = deadline ? 50 : (int)(next - now_ms());
		if (wait < 0)
			wait = 0;
		if (poll(&p, 1, wait > 100 ? 100 : wait) > 0 && rx(fd, &s))
			err = errno ? errno : ECONNRESET;
	}
	if (err) {
		s.resets++;
		fprintf(stderr, "hs_stream: connection failed: %s\n", strerror(err));
	}
	write_status(status, &s);
	printf("sent=%llu verified=%llu mismatches=%llu resets=%d longest_gap_ms=%.1f "
	       "longest_gap_end=%.3f\n",
	       (unsigned long long)s.sent, (unsigned long long)s.verified,
	       (unsigned long long)s.mismatches, s.resets, s.longest_gap, s.longest_gap_end / 1e3);
	close(fd);
	return !s.resets && !s.mismatches && s.verified == s.sent && s.sent ? 0 : 1;
}

static int usage(void)
{
	fputs("usage: hs_stream server PORT | udp-server PORT\n"
	      "       hs_stream client ADDR PORT [--rate HZ] [--size N] [--status FILE]\n"
	      "       hs_stream udp ADDR PORT [--size N] [--count N]\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	int rate = 1000, size = 64, count = 1;
	const char *status = NULL;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		usage();
		return 0;
	}
	if (argc < 3)
		return usage();
	for (int i = 4; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--rate"))
			rate = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--size"))
			size = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--count"))
			count = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--status"))
			status = argv[++i];
		else
			return usage();
	}
	if (!strcmp(argv[1], "server") && argc == 3)
		return tcp_server(argv[2]);
	if (!strcmp(argv[1], "udp-server") && argc == 3)
		return udp_server(argv[2]);
	if (!strcmp(argv[1], "client") && argc >= 4)
		return tcp_client(argv[2], argv[3], rate, size, status);
	if (!strcmp(argv[1], "udp") && argc >= 4)
		return udp_client(argv[2], argv[3], size, count);
	return usage();
}
