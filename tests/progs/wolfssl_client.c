/* A wolfSSL TLS client for the e2e tests that says exactly what it sent and received, and
 * which calls moved it.
 *
 * Connects to 127.0.0.1:--port, sends the first --first-write bytes of --send-file with one
 * wolfSSL_write and the rest with one wolfSSL_send, then reads until the server closes:
 * before each read it peeks (wolfSSL_peek: the bytes stay for the read, so tlstap must not
 * report them), and it alternates wolfSSL_read and wolfSSL_recv. What it received goes to
 * --received-file; --info-file gets "pid N", "lport N", "fd N" and the count of calls of each
 * function that moved bytes, one per line. Exits non-zero on any failure. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

static void fail(const char* what) {
  fprintf(stderr, "wolfssl_client: %s\n", what);
  exit(1);
}

static unsigned char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) fail("cannot open the send file");
  fseek(f, 0, SEEK_END);
  long length = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char* data = malloc(length > 0 ? (size_t)length : 1);
  if (!data || fread(data, 1, (size_t)length, f) != (size_t)length) fail("cannot read send file");
  fclose(f);
  *size = (size_t)length;
  return data;
}

static void write_file(const char* path, const unsigned char* data, size_t size) {
  FILE* f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) fail("cannot write a file");
}

/* All of `size` bytes with one call of wolfSSL_write (send = 0) or wolfSSL_send (send = 1):
 * a blocking wolfSSL writes them all, in as many records as it takes. */
static int write_all(WOLFSSL* ssl, const unsigned char* data, int size, int send) {
  if (size == 0) return 0;
  int written = send ? wolfSSL_send(ssl, data, size, 0) : wolfSSL_write(ssl, data, size);
  if (written != size) fail(send ? "wolfSSL_send did not send it all" : "wolfSSL_write failed");
  return 1;
}

int main(int argc, char** argv) {
  int port = 0;
  long first_write = -1;
  const char *send_path = NULL, *received_path = NULL, *info_path = NULL;
  static const struct option options[] = {
      {"port", required_argument, 0, 'p'},        {"send-file", required_argument, 0, 's'},
      {"first-write", required_argument, 0, 'f'}, {"received-file", required_argument, 0, 'r'},
      {"info-file", required_argument, 0, 'i'},   {0, 0, 0, 0}};
  for (int c; (c = getopt_long(argc, argv, "", options, NULL)) != -1;) {
    switch (c) {
      case 'p': port = atoi(optarg); break;
      case 's': send_path = optarg; break;
      case 'f': first_write = atol(optarg); break;
      case 'r': received_path = optarg; break;
      case 'i': info_path = optarg; break;
      default: return 2;
    }
  }
  if (!port || !send_path || !received_path || !info_path) {
    fprintf(stderr,
            "usage: wolfssl_client --port N --send-file F [--first-write N] --received-file F "
            "--info-file F\n");
    return 2;
  }
  size_t payload_size;
  unsigned char* payload = read_file(send_path, &payload_size);
  if (first_write < 0 || (size_t)first_write > payload_size) first_write = (long)payload_size;

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr*)&server, sizeof(server)) != 0) fail("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct sockaddr_in local;
  socklen_t local_size = sizeof(local);
  getsockname(fd, (struct sockaddr*)&local, &local_size);

  wolfSSL_Init();
  WOLFSSL_CTX* ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
  if (!ctx) fail("wolfSSL_CTX_new");
  wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);  // the tests' certificate is self-signed
  WOLFSSL* ssl = wolfSSL_new(ctx);
  if (!ssl || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) fail("wolfSSL_new");
  if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS) fail("handshake");

  int writes = write_all(ssl, payload, (int)first_write, 0);
  int sends = write_all(ssl, payload + first_write, (int)(payload_size - (size_t)first_write), 1);

  size_t capacity = 1 << 20, received = 0;
  unsigned char* buffer = malloc(capacity);
  int reads = 0, recvs = 0, peeks = 0;
  for (int call = 0;; call++) {
    if (capacity - received < 16384) {
      capacity *= 2;
      buffer = realloc(buffer, capacity);
      if (!buffer) fail("out of memory");
    }
    unsigned char first;
    if (wolfSSL_peek(ssl, &first, 1) <= 0) break;  // the server closed
    peeks++;
    int size = (int)(capacity - received);
    int n = call % 2 ? wolfSSL_recv(ssl, buffer + received, size, 0)
                     : wolfSSL_read(ssl, buffer + received, size);
    if (n <= 0) fail("a read after a peek moved nothing");
    if (buffer[received] != first) fail("peek and read disagree");
    *(call % 2 ? &recvs : &reads) += 1;
    received += (size_t)n;
  }
  wolfSSL_shutdown(ssl);
  write_file(received_path, buffer, received);

  char info[256];
  int length =
      snprintf(info, sizeof(info),
               "pid %d\nlport %d\nfd %d\nwolfSSL_write %d\nwolfSSL_send %d\n"
               "wolfSSL_read %d\nwolfSSL_recv %d\nwolfSSL_peek %d\n",
               (int)getpid(), ntohs(local.sin_port), fd, writes, sends, reads, recvs, peeks);
  write_file(info_path, (const unsigned char*)info, (size_t)length);
  wolfSSL_free(ssl);
  wolfSSL_CTX_free(ctx);
  wolfSSL_Cleanup();
  close(fd);
  free(buffer);
  free(payload);
  return 0;
}
