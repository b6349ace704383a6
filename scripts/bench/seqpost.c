/* seqpost.c — sequential HTTP/1.0 POST client for the OCSP like-for-like benchmark
 * (scripts/bench/network.sh). One request per TCP connection, one at a time, for SECONDS:
 * connect, send the POST, read to EOF, check "200" and a body, close. This is how
 * `openssl ocsp -port` must be driven (it closes after each answer, and — OpenSSL 3.0 bug,
 * PERF-NOTES — spins forever after a connect without a request, so no probe is ever made).
 * A read waits at most 2 s; a stall ends the run and the rate up to the stall is printed.
 * Usage: seqpost PORT PATH BODYFILE SECONDS   → prints "<requests> <seconds> <rate>/s"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: seqpost PORT PATH BODYFILE SECONDS\n"); return 2; }
    int port = atoi(argv[1]);
    double seconds = atof(argv[4]);
    FILE *f = fopen(argv[3], "rb");
    if (!f) { perror(argv[3]); return 2; }
    static char body[65536];
    size_t bodyLength = fread(body, 1, sizeof body, f);
    fclose(f);
    static char request[70000];
    int headerLength = snprintf(request, sizeof request,
        "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
        argv[2], bodyLength);
    memcpy(request + headerLength, body, bodyLength);
    size_t requestLength = headerLength + bodyLength;
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = inet_addr("127.0.0.1");
    static char answer[1 << 16];
    long count = 0;
    double start = now(), last = start;
    while (now() - start < seconds) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct timeval timeout = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) { perror("connect"); close(fd); return 1; }
        if (send(fd, request, requestLength, 0) != (ssize_t)requestLength) { perror("send"); close(fd); return 1; }
        size_t got = 0;
        ssize_t n;
        while ((n = recv(fd, answer + got, sizeof answer - got, 0)) > 0) got += n;
        close(fd);
        if (n < 0) { fprintf(stderr, "seqpost: stalled after %ld requests\n", count); break; }
        if (got < 120 || strncmp(answer + 9, "200", 3) != 0) {
            fprintf(stderr, "seqpost: bad answer (%zu bytes): %.40s\n", got, answer);
            return 1;
        }
        count++;
        last = now();
    }
    double elapsed = last - start;
    printf("%ld %.3f %.0f\n", count, elapsed, elapsed > 0 ? count / elapsed : 0);
    return count > 0 ? 0 : 1;
}
