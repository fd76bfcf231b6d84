/* An NSS TLS client that also does plain I/O through the same NSPR functions tlstap probes:
 * PR_Write to a file and PR_Send/PR_Recv on a plain TCP socket, before, between and after its
 * TLS calls, with bytes that look like TLS records (what a relay would move). Only the TLS
 * plaintext may be captured. The TLS payload goes out with PR_Write, PR_Send and PR_Writev;
 * the reply is read with small PR_Read/PR_Recv calls, so most are served from NSS's buffer.
 *
 * --layer pushes an NSPR I/O layer between NSS's SSL layer and the TCP socket whose methods
 * call PR_Send/PR_Recv/PR_Write/PR_Read on the socket below: the ciphertext then passes through
 * the probed functions, nested in the TLS call, and must not be taken for plaintext.
 *
 * Writes what it received over TLS to --received-file, and to --info-file one line of JSON with
 * its pid, its TLS socket's local port, its successful TLS calls and the plain bytes it moved.
 * Exits 0 on success. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nspr.h>
#include <nss.h>
#include <ssl.h>

static void die(const char* what) {
  fprintf(stderr, "nss_mixed_client: %s failed: NSPR error %d\n", what, PR_GetError());
  exit(1);
}

/* Bytes that start like a TLS application-data record: the plain I/O must not be taken for TLS
 * even so. */
static void record_like(char* out, int len, char fill) {
  memset(out, fill, len);
  out[0] = 23;
  out[1] = 3;
  out[2] = 3;
  out[3] = (char)((len - 5) >> 8);
  out[4] = (char)(len - 5);
}

static PRInt32 plain_sent, plain_received, file_written;
static int tls_writes, tls_reads; /* successful TLS calls */

static void plain_file_write(PRFileDesc* file, char fill) {
  char buf[300];
  record_like(buf, sizeof(buf), fill);
  if (PR_Write(file, buf, sizeof(buf)) != (PRInt32)sizeof(buf)) die("PR_Write(file)");
  file_written += sizeof(buf);
}

static void plain_send(PRFileDesc* sock, char fill) {
  char buf[400];
  record_like(buf, sizeof(buf), fill);
  if (PR_Send(sock, buf, sizeof(buf), 0, PR_INTERVAL_NO_TIMEOUT) != (PRInt32)sizeof(buf))
    die("PR_Send(plain socket)");
  plain_sent += sizeof(buf);
}

/* The plain server greets each connection with this many bytes. */
#define GREETING_BYTES 200

static void plain_receive_greeting(PRFileDesc* sock) {
  char buf[GREETING_BYTES];
  PRInt32 got = 0;
  while (got < GREETING_BYTES) {
    PRInt32 n = PR_Recv(sock, buf + got, GREETING_BYTES - got, 0, PR_INTERVAL_NO_TIMEOUT);
    if (n <= 0) die("PR_Recv(plain socket)");
    got += n;
  }
  plain_received += got;
}

static PRFileDesc* tcp_connect(int port) {
  PRFileDesc* sock = PR_NewTCPSocket();
  if (!sock) die("PR_NewTCPSocket");
  PRNetAddr addr;
  if (PR_InitializeNetAddr(PR_IpAddrLoopback, (PRUint16)port, &addr) != PR_SUCCESS)
    die("PR_InitializeNetAddr");
  if (PR_Connect(sock, &addr, PR_INTERVAL_NO_TIMEOUT) != PR_SUCCESS) die("PR_Connect");
  return sock;
}

/* The test's server has a throwaway self-signed certificate. */
static SECStatus accept_any_certificate(void* arg, PRFileDesc* fd, PRBool check_sig,
                                        PRBool is_server) {
  (void)arg, (void)fd, (void)check_sig, (void)is_server;
  return SECSuccess;
}

/* The layer below SSL: every method goes through NSPR's public functions on the layer below. */
static PRInt32 PR_CALLBACK layer_read(PRFileDesc* fd, void* buf, PRInt32 amount) {
  return PR_Read(fd->lower, buf, amount);
}
static PRInt32 PR_CALLBACK layer_write(PRFileDesc* fd, const void* buf, PRInt32 amount) {
  return PR_Write(fd->lower, buf, amount);
}
static PRInt32 PR_CALLBACK layer_recv(PRFileDesc* fd, void* buf, PRInt32 amount, PRIntn flags,
                                      PRIntervalTime timeout) {
  return PR_Recv(fd->lower, buf, amount, flags, timeout);
}
static PRInt32 PR_CALLBACK layer_send(PRFileDesc* fd, const void* buf, PRInt32 amount, PRIntn flags,
                                      PRIntervalTime timeout) {
  return PR_Send(fd->lower, buf, amount, flags, timeout);
}

static void push_layer_below_ssl(PRFileDesc* ssl) {
  static PRIOMethods methods;
  methods = *PR_GetDefaultIOMethods();
  methods.read = layer_read;
  methods.write = layer_write;
  methods.recv = layer_recv;
  methods.send = layer_send;
  PRFileDesc* layer = PR_CreateIOLayerStub(PR_GetUniqueIdentity("tlstap-test-layer"), &methods);
  if (!layer) die("PR_CreateIOLayerStub");
  if (PR_PushIOLayer(ssl, PR_GetLayersIdentity(ssl->lower), layer) != PR_SUCCESS)
    die("PR_PushIOLayer");
}

static char* read_whole_file(const char* path, PRInt32* len) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  *len = (PRInt32)ftell(f);
  fseek(f, 0, SEEK_SET);
  char* data = malloc(*len + 1);
  if (!data || fread(data, 1, *len, f) != (size_t)*len) {
    perror(path);
    exit(1);
  }
  fclose(f);
  return data;
}

static void write_all(PRFileDesc* ssl, const char* data, PRInt32 len, int use_send) {
  while (len > 0) {
    PRInt32 n =
        use_send ? PR_Send(ssl, data, len, 0, PR_INTERVAL_NO_TIMEOUT) : PR_Write(ssl, data, len);
    if (n <= 0) die(use_send ? "PR_Send(TLS)" : "PR_Write(TLS)");
    tls_writes++;
    data += n;
    len -= n;
  }
}

int main(int argc, char** argv) {
  int port = 0, plain_port = 0, layer = 0, read_size = 100;
  const char *plain_file = NULL, *send_file = NULL, *received_file = NULL, *info_file = NULL;
  static const struct option options[] = {{"port", required_argument, 0, 'p'},
                                          {"plain-port", required_argument, 0, 'q'},
                                          {"plain-file", required_argument, 0, 'f'},
                                          {"send-file", required_argument, 0, 's'},
                                          {"received-file", required_argument, 0, 'r'},
                                          {"info-file", required_argument, 0, 'i'},
                                          {"read-size", required_argument, 0, 'n'},
                                          {"layer", no_argument, 0, 'l'},
                                          {0, 0, 0, 0}};
  for (int c; (c = getopt_long(argc, argv, "", options, NULL)) != -1;) {
    switch (c) {
      case 'p': port = atoi(optarg); break;
      case 'q': plain_port = atoi(optarg); break;
      case 'f': plain_file = optarg; break;
      case 's': send_file = optarg; break;
      case 'r': received_file = optarg; break;
      case 'i': info_file = optarg; break;
      case 'n': read_size = atoi(optarg); break;
      case 'l': layer = 1; break;
      default: return 2;
    }
  }
  if (!port || !plain_port || !plain_file || !send_file || !received_file || !info_file ||
      read_size <= 0 || read_size > 65536) {
    fprintf(stderr,
            "usage: nss_mixed_client --port N --plain-port N --plain-file PATH --send-file PATH "
            "--received-file PATH --info-file PATH [--read-size N] [--layer]\n");
    return 2;
  }
  PRInt32 payload_len;
  char* payload = read_whole_file(send_file, &payload_len);
  if (payload_len < 3) {
    fprintf(stderr, "nss_mixed_client: the payload needs at least 3 bytes\n");
    return 2;
  }

  if (NSS_NoDB_Init(NULL) != SECSuccess) die("NSS_NoDB_Init");
  if (NSS_SetDomesticPolicy() != SECSuccess) die("NSS_SetDomesticPolicy");

  /* Plain I/O before any TLS. */
  PRFileDesc* file = PR_Open(plain_file, PR_WRONLY | PR_CREATE_FILE | PR_TRUNCATE, 0600);
  if (!file) die("PR_Open");
  plain_file_write(file, 'a');
  PRFileDesc* plain = tcp_connect(plain_port);
  plain_receive_greeting(plain);
  plain_send(plain, 'b');

  PRFileDesc* ssl = SSL_ImportFD(NULL, PR_NewTCPSocket());
  if (!ssl) die("SSL_ImportFD");
  if (layer) push_layer_below_ssl(ssl);
  if (SSL_OptionSet(ssl, SSL_SECURITY, PR_TRUE) != SECSuccess ||
      SSL_OptionSet(ssl, SSL_HANDSHAKE_AS_CLIENT, PR_TRUE) != SECSuccess)
    die("SSL_OptionSet");
  if (SSL_AuthCertificateHook(ssl, accept_any_certificate, NULL) != SECSuccess)
    die("SSL_AuthCertificateHook");
  if (SSL_SetURL(ssl, "localhost") != SECSuccess) die("SSL_SetURL");
  PRNetAddr addr;
  if (PR_InitializeNetAddr(PR_IpAddrLoopback, (PRUint16)port, &addr) != PR_SUCCESS)
    die("PR_InitializeNetAddr");
  if (PR_Connect(ssl, &addr, PR_INTERVAL_NO_TIMEOUT) != PR_SUCCESS) die("PR_Connect(TLS)");
  PRNetAddr local;
  if (PR_GetSockName(ssl, &local) != PR_SUCCESS) die("PR_GetSockName");

  /* The payload in three parts, through the three write functions, plain I/O in between. The
   * first PR_Write also makes the handshake. */
  PRInt32 third = payload_len / 3;
  write_all(ssl, payload, third, 0);
  plain_file_write(file, 'c');
  plain_send(plain, 'd');
  write_all(ssl, payload + third, third, 1);
  plain_file_write(file, 'e');
  plain_send(plain, 'f');
  PRInt32 rest = payload_len - 2 * third;
  PRIOVec vector[4] = {{payload + 2 * third, 1},
                       {payload + 2 * third + 1, 0}, /* an empty element is skipped */
                       {payload + 2 * third + 1, rest / 2},
                       {payload + 2 * third + 1 + rest / 2, rest - 1 - rest / 2}};
  if (PR_Writev(ssl, vector, 4, PR_INTERVAL_NO_TIMEOUT) != rest) die("PR_Writev(TLS)");
  tls_writes++;

  /* The reply in small pieces until the server closes, alternating PR_Read and PR_Recv, a plain
   * file write after each. */
  char* received = NULL;
  PRInt32 received_len = 0;
  char* buf = malloc(read_size);
  for (int i = 0;; i++) {
    PRInt32 n = (i % 2) ? PR_Recv(ssl, buf, read_size, 0, PR_INTERVAL_NO_TIMEOUT)
                        : PR_Read(ssl, buf, read_size);
    if (n < 0) die("PR_Read/PR_Recv(TLS)");
    if (n == 0) break;
    tls_reads++;
    received = realloc(received, received_len + n);
    memcpy(received + received_len, buf, n);
    received_len += n;
    if (i % 16 == 0) plain_file_write(file, 'g');
  }
  plain_send(plain, 'h');
  if (PR_Close(ssl) != PR_SUCCESS) die("PR_Close(TLS)");

  /* After the TLS socket is gone, its fd number (and NSPR's descriptor) are free for reuse. */
  PRFileDesc* plain2 = tcp_connect(plain_port);
  plain_receive_greeting(plain2);
  plain_send(plain2, 'i');
  plain_file_write(file, 'j');
  PR_Close(plain2);
  PR_Close(plain);
  PR_Close(file);

  FILE* out = fopen(received_file, "wb");
  if (!out || fwrite(received, 1, received_len, out) != (size_t)received_len || fclose(out)) {
    perror(received_file);
    return 1;
  }
  out = fopen(info_file, "w");
  if (!out) {
    perror(info_file);
    return 1;
  }
  fprintf(out,
          "{\"pid\": %d, \"tls_lport\": %d, \"tls_writes\": %d, \"tls_reads\": %d, "
          "\"plain_sent\": %d, \"plain_received\": %d, \"file_written\": %d}\n",
          (int)getpid(), PR_ntohs(PR_NetAddrInetPort(&local)), tls_writes, tls_reads, plain_sent,
          plain_received, file_written);
  fclose(out);
  free(buf);
  free(received);
  free(payload);
  SSL_ClearSessionCache(); /* it holds references that make NSS_Shutdown fail */
  if (NSS_Shutdown() != SECSuccess) die("NSS_Shutdown");
  PR_Cleanup();
  return 0;
}
