module tlstap.test/go_tls_client

go 1.17
