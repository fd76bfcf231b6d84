// A Java program whose TLS is Java's own (JSSE), for test_jvm.py: tlstap cannot capture it and
// must say so.
// usage: java JsseClient.java CERT URL   GET URL trusting CERT; prints the status, then the body
//        java JsseClient.java --idle SECS  prints "ready" and sleeps (a JVM that has no TLS yet)
import java.io.FileInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class JsseClient {
  public static void main(String[] args) throws Exception {
    if (args[0].equals("--idle")) {
      System.out.println("ready");
      System.out.flush();
      Thread.sleep(Long.parseLong(args[1]) * 1000);
      return;
    }
    KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
    trusted.load(null, null);
    try (FileInputStream cert = new FileInputStream(args[0])) {
      trusted.setCertificateEntry(
          "test", CertificateFactory.getInstance("X.509").generateCertificate(cert));
    }
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(trusted);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    HttpClient client = HttpClient.newBuilder().sslContext(context).build();
    HttpResponse<byte[]> response =
        client.send(HttpRequest.newBuilder(URI.create(args[1])).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
    System.out.println(response.statusCode());
    System.out.write(response.body());
    System.out.flush();
  }
}
