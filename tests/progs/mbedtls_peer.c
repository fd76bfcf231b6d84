/* An mbedTLS peer for the e2e tests that says exactly what it sent and received.
 *
 * server: listens on 127.0.0.1:--port (touching --ready-file once it does), accepts one
 *   connection, reads --expect bytes, sends --reply-file, sends close_notify and closes.
 * client: connects to 127.0.0.1:--port, sends --send-file, reads until the server closes,
 *   sends close_notify and closes.
 * Both write what they received to --received-file and, to --info-file, "pid N", "lport N",
 * "rport N", "fd N" and how many mbedtls_ssl_read/mbedtls_ssl_write calls moved bytes. Every write
 * is a loop of mbedtls_ssl_write calls: each sends at most one record's worth. Exits non-zero on
 * any failure. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

static void fail(const char* what, int code) {
  char text[128] = "";
  if (code) mbedtls_strerror(code, text, sizeof(text));
  fprintf(stderr, "mbedtls_peer: %s%s%s\n", what, code ? ": " : "", text);
  exit(1);
}

static unsigned char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) fail("cannot open a file to send", 0);
  fseek(f, 0, SEEK_END);
  long length = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char* data = malloc(length > 0 ? (size_t)length : 1);
  if (!data || fread(data, 1, (size_t)length, f) != (size_t)length) fail("cannot read a file", 0);
  fclose(f);
  *size = (size_t)length;
  return data;
}

static void write_file(const char* path, const void* data, size_t size) {
  FILE* f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) fail("cannot write a file", 0);
}

static int write_all(mbedtls_ssl_context* ssl, const unsigned char* data, size_t size) {
  int calls = 0;
  for (size_t sent = 0; sent < size;) {
    int n = mbedtls_ssl_write(ssl, data + sent, size - sent);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (n <= 0) fail("mbedtls_ssl_write", n);
    sent += (size_t)n;
    calls++;
  }
  return calls;
}

/* Up to `limit` bytes (all until the peer closes when limit is 0), appended to *data. */
static int read_up_to(mbedtls_ssl_context* ssl, size_t limit, unsigned char** data, size_t* size) {
  size_t capacity = 1 << 16;
  *data = malloc(capacity);
  *size = 0;
  int calls = 0;
  while (limit == 0 || *size < limit) {
    if (capacity - *size < 16384) {
      capacity *= 2;
      *data = realloc(*data, capacity);
      if (!*data) fail("out of memory", 0);
    }
    size_t room = capacity - *size;
    if (limit && limit - *size < room) room = limit - *size;
    int n = mbedtls_ssl_read(ssl, *data + *size, room);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) break;
    if (n < 0) fail("mbedtls_ssl_read", n);
    *size += (size_t)n;
    calls++;
  }
  return calls;
}

int main(int argc, char** argv) {
  const char *port = NULL, *cert_path = NULL, *key_path = NULL, *send_path = NULL;
  const char *received_path = NULL, *info_path = NULL, *ready_path = NULL;
  size_t expect = 0;
  static const struct option options[] = {
      {"port", required_argument, 0, 'p'},          {"cert", required_argument, 0, 'c'},
      {"key", required_argument, 0, 'k'},           {"send-file", required_argument, 0, 's'},
      {"reply-file", required_argument, 0, 's'},    {"expect", required_argument, 0, 'e'},
      {"received-file", required_argument, 0, 'r'}, {"info-file", required_argument, 0, 'i'},
      {"ready-file", required_argument, 0, 'y'},    {0, 0, 0, 0}};
  for (int c; (c = getopt_long(argc, argv, "", options, NULL)) != -1;) {
    switch (c) {
      case 'p': port = optarg; break;
      case 'c': cert_path = optarg; break;
      case 'k': key_path = optarg; break;
      case 's': send_path = optarg; break;
      case 'e': expect = (size_t)atol(optarg); break;
      case 'r': received_path = optarg; break;
      case 'i': info_path = optarg; break;
      case 'y': ready_path = optarg; break;
      default: return 2;
    }
  }
  const int server = optind < argc && strcmp(argv[optind], "server") == 0;
  if (optind >= argc || (!server && strcmp(argv[optind], "client") != 0) || !port || !send_path ||
      !received_path || !info_path || (server && (!cert_path || !key_path || !expect))) {
    fprintf(stderr,
            "usage: mbedtls_peer server --port N --cert F --key F --expect N --reply-file F "
            "--received-file F --info-file F [--ready-file F]\n"
            "       mbedtls_peer client --port N --send-file F --received-file F --info-file F\n");
    return 2;
  }
  size_t payload_size;
  unsigned char* payload = read_file(send_path, &payload_size);

  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ssl_config config;
  mbedtls_ssl_context ssl;
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  mbedtls_net_context listener, connection;
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_ssl_config_init(&config);
  mbedtls_ssl_init(&ssl);
  mbedtls_x509_crt_init(&cert);
  mbedtls_pk_init(&key);
  mbedtls_net_init(&listener);
  mbedtls_net_init(&connection);

  int ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0);
  if (ret != 0) fail("mbedtls_ctr_drbg_seed", ret);
  ret = mbedtls_ssl_config_defaults(&config, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0) fail("mbedtls_ssl_config_defaults", ret);
  mbedtls_ssl_conf_rng(&config, mbedtls_ctr_drbg_random, &drbg);
  mbedtls_ssl_conf_authmode(&config, MBEDTLS_SSL_VERIFY_NONE);  // self-signed test certificate
  if (server) {
    if ((ret = mbedtls_x509_crt_parse_file(&cert, cert_path)) != 0) fail("certificate", ret);
    if ((ret = mbedtls_pk_parse_keyfile(&key, key_path, NULL)) != 0) fail("key", ret);
    if ((ret = mbedtls_ssl_conf_own_cert(&config, &cert, &key)) != 0) fail("own cert", ret);
  }
  if ((ret = mbedtls_ssl_setup(&ssl, &config)) != 0) fail("mbedtls_ssl_setup", ret);

  if (server) {
    ret = mbedtls_net_bind(&listener, "127.0.0.1", port, MBEDTLS_NET_PROTO_TCP);
    if (ret != 0) fail("mbedtls_net_bind", ret);
    if (ready_path) write_file(ready_path, "", 0);
    ret = mbedtls_net_accept(&listener, &connection, NULL, 0, NULL);
    if (ret != 0) fail("mbedtls_net_accept", ret);
  } else {
    ret = mbedtls_net_connect(&connection, "127.0.0.1", port, MBEDTLS_NET_PROTO_TCP);
    if (ret != 0) fail("mbedtls_net_connect", ret);
  }
  int one = 1;
  setsockopt(connection.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct sockaddr_in local, remote;
  socklen_t local_size = sizeof(local), remote_size = sizeof(remote);
  getsockname(connection.fd, (struct sockaddr*)&local, &local_size);
  getpeername(connection.fd, (struct sockaddr*)&remote, &remote_size);
  mbedtls_ssl_set_bio(&ssl, &connection, mbedtls_net_send, mbedtls_net_recv, NULL);
  while ((ret = mbedtls_ssl_handshake(&ssl)) != 0) {
    if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
      fail("handshake", ret);
  }

  unsigned char* received;
  size_t received_size;
  int reads, writes;
  if (server) {
    reads = read_up_to(&ssl, expect, &received, &received_size);
    writes = write_all(&ssl, payload, payload_size);
  } else {
    writes = write_all(&ssl, payload, payload_size);
    reads = read_up_to(&ssl, 0, &received, &received_size);
  }
  while ((ret = mbedtls_ssl_close_notify(&ssl)) == MBEDTLS_ERR_SSL_WANT_WRITE) {
  }
  write_file(received_path, received, received_size);

  char info[256];
  int length = snprintf(info, sizeof(info),
                        "pid %d\nlport %d\nrport %d\nfd %d\nmbedtls_ssl_read %d\n"
                        "mbedtls_ssl_write %d\n",
                        (int)getpid(), ntohs(local.sin_port), ntohs(remote.sin_port), connection.fd,
                        reads, writes);
  write_file(info_path, info, (size_t)length);

  mbedtls_net_free(&connection);
  mbedtls_net_free(&listener);
  mbedtls_x509_crt_free(&cert);
  mbedtls_pk_free(&key);
  mbedtls_ssl_free(&ssl);
  mbedtls_ssl_config_free(&config);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  free(received);
  free(payload);
  return 0;
}
