// A Go program using crypto/tls, standard library only: the test subject for reading Go
// programs (function table, build info, RET offsets) and for the Go probes' e2e tests.
//
//	go_tls_client HOST:PORT MESSAGE
//
// connects over TLS (any certificate), writes MESSAGE with one (*tls.Conn).Write, reads
// until the peer closes, writes what it read to stdout and "lport N" to stderr.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go_tls_client HOST:PORT MESSAGE")
		os.Exit(2)
	}
	conn, err := tls.Dial("tcp", os.Args[1], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	fmt.Fprintf(os.Stderr, "lport %d\n", conn.LocalAddr().(*net.TCPAddr).Port)
	if _, err := conn.Write([]byte(os.Args[2])); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	received, err := io.ReadAll(conn)
	os.Stdout.Write(received)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
