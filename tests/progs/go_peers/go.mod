module tlstap.test/go_peers

go 1.17
