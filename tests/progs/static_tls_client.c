/* A TLS client linked statically with OpenSSL (libssl.a, libcrypto.a): no libssl.so is
 * mapped, the SSL functions live in the executable itself, found through its .symtab.
 *
 * static_tls_client PORT SEND_FILE RECEIVED_FILE [DELAY_SECONDS]
 * Waits DELAY_SECONDS (a tracer's attach deadline), connects to 127.0.0.1:PORT, sends SEND_FILE with one SSL_write, reads with SSL_read until
 * the server closes, and writes what it received to RECEIVED_FILE. Exit 0 on success. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static int fail(const char *what) {
  fprintf(stderr, "static_tls_client: %s\n", what);
  ERR_print_errors_fp(stderr);
  return 1;
}

static unsigned char *read_whole_file(const char *path, long *size) {
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  fseek(file, 0, SEEK_END);
  *size = ftell(file);
  fseek(file, 0, SEEK_SET);
  unsigned char *data = malloc(*size > 0 ? (size_t)*size : 1);
  if (data && fread(data, 1, (size_t)*size, file) != (size_t)*size) {
    free(data);
    data = NULL;
  }
  fclose(file);
  return data;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    return fail("usage: static_tls_client PORT SEND_FILE RECEIVED_FILE [DELAY_SECONDS]");
  }
  if (argc == 5) usleep((useconds_t)(atof(argv[4]) * 1e6));
  long size = 0;
  unsigned char *payload = read_whole_file(argv[2], &size);
  if (!payload || size <= 0) return fail("cannot read SEND_FILE");

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&server, sizeof(server)) != 0) {
    return fail("connect failed");
  }

  SSL_CTX *context = SSL_CTX_new(TLS_client_method());
  if (!context) return fail("SSL_CTX_new failed");
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL); /* the test server's cert is self-signed */
  SSL *ssl = SSL_new(context);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) return fail("handshake failed");
  if (SSL_write(ssl, payload, (int)size) != (int)size) return fail("SSL_write failed");

  FILE *received = fopen(argv[3], "wb");
  if (!received) return fail("cannot create RECEIVED_FILE");
  unsigned char buffer[4096];
  int n;
  while ((n = SSL_read(ssl, buffer, sizeof(buffer))) > 0) fwrite(buffer, 1, (size_t)n, received);
  fclose(received);

  SSL_free(ssl);
  SSL_CTX_free(context);
  close(fd);
  free(payload);
  return 0;
}
