// Go TLS peers for the e2e tests (crypto/tls and net/http, standard library only). Each mode
// writes what it really sent and received, and its ports, so a test can compare tlstap's
// records with the truth.
//
//	raw-client ADDR SENDFILE RECVFILE MSGSIZE   one connection; SENDFILE in MSGSIZE Writes (0: one);
//	                                            reads until the peer closes; prints "lport N"
//	raw-server PORT CERT KEY READY EXPECT REPLYFILE RECVFILE [--gc-while-blocked]
//	                                            one connection: reads EXPECT bytes, replies, closes
//	http-server PORT CERT KEY READY REPORT COUNT [--h1]
//	                                            answers COUNT requests; the report lists each
//	                                            request's client port, body and reply
//	http-client URL REPORT N SIZE PARALLEL [--h1] [--mixed]
//	                                            N POSTs of SIZE random bytes, PARALLEL at a time;
//	                                            --mixed: rounds of GET /text, GET /big (a 1 MiB
//	                                            reply), GET /text, POST /upload (SIZE bytes)
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail(err)
	}
	return n
}

func has(flag string) bool {
	for _, a := range os.Args {
		if a == flag {
			return true
		}
	}
	return false
}

func rawClient(addr, sendPath, recvPath string, msgSize int) {
	payload, err := os.ReadFile(sendPath)
	if err != nil {
		fail(err)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		fail(err)
	}
	fmt.Printf("lport %d\n", conn.LocalAddr().(*net.TCPAddr).Port)
	if msgSize <= 0 {
		msgSize = len(payload)
	}
	for off := 0; off < len(payload); off += msgSize {
		end := off + msgSize
		if end > len(payload) {
			end = len(payload)
		}
		if _, err := conn.Write(payload[off:end]); err != nil {
			fail(err)
		}
	}
	received, err := io.ReadAll(conn)
	if err != nil {
		fail(err)
	}
	conn.Close()
	if err := os.WriteFile(recvPath, received, 0o600); err != nil {
		fail(err)
	}
}

// churn grows and shrinks goroutine stacks and forces collections while another goroutine
// is blocked inside (*tls.Conn).Read: the probes must not disturb the runtime.
func churn(stop <-chan struct{}) {
	var deep func(n int) int
	deep = func(n int) int {
		var pad [256]byte
		pad[n%256] = byte(n)
		if n == 0 {
			return int(pad[0])
		}
		return deep(n-1) + int(pad[n%256])
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); deep(2000); _ = make([]byte, 1<<20) }()
		}
		wg.Wait()
		runtime.GC()
	}
}

func rawServer(port, certPath, keyPath, ready string, expect int, replyPath, recvPath string) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		fail(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:"+port, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		fail(err)
	}
	os.WriteFile(ready, []byte(strconv.Itoa(os.Getpid())), 0o600)
	conn, err := ln.Accept()
	if err != nil {
		fail(err)
	}
	stop := make(chan struct{})
	if has("--gc-while-blocked") {
		go churn(stop)
	}
	received := make([]byte, expect)
	if _, err := io.ReadFull(conn, received); err != nil {
		fail(err)
	}
	close(stop)
	reply, err := os.ReadFile(replyPath)
	if err != nil {
		fail(err)
	}
	if _, err := conn.Write(reply); err != nil {
		fail(err)
	}
	conn.Close()
	if err := os.WriteFile(recvPath, received, 0o600); err != nil {
		fail(err)
	}
}

type exchange struct {
	Port  int    `json:"port"`
	Path  string `json:"path"`
	Body  []byte `json:"body"`
	Reply []byte `json:"reply"`
}

func httpServer(port, certPath, keyPath, ready, reportPath string, count int) {
	var mu sync.Mutex
	var report []exchange
	done := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			fail(err)
		}
		reply := []byte(fmt.Sprintf("%s %s %d bytes, proto %s\n", r.Method, r.URL.Path, len(body), r.Proto))
		reply = append(reply, body[:len(body)/2]...)
		if strings.HasPrefix(r.URL.Path, "/big/") {
			reply = append(reply, bytes.Repeat([]byte(r.URL.Path), (1<<20)/len(r.URL.Path))...)
		}
		_, rport, _ := net.SplitHostPort(r.RemoteAddr)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(reply)
		mu.Lock()
		report = append(report, exchange{Port: atoi(rport), Path: r.URL.Path, Body: body, Reply: reply})
		if len(report) == count {
			close(done)
		}
		mu.Unlock()
	})
	server := &http.Server{Addr: "127.0.0.1:" + port, Handler: handler}
	if has("--h1") {
		server.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	ln, err := net.Listen("tcp", server.Addr)
	if err != nil {
		fail(err)
	}
	os.WriteFile(ready, []byte(strconv.Itoa(os.Getpid())), 0o600)
	go server.ServeTLS(ln, certPath, keyPath)
	<-done
	time.Sleep(200 * time.Millisecond) // the last responses leave
	mu.Lock()
	out, _ := json.Marshal(report)
	mu.Unlock()
	if err := os.WriteFile(reportPath, out, 0o600); err != nil {
		fail(err)
	}
}

func httpClient(url, reportPath string, n, size, parallel int) {
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2:   !has("--h1"),
		MaxConnsPerHost:     parallel,
		MaxIdleConnsPerHost: parallel,
	}
	if has("--h1") {
		transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	client := &http.Client{Transport: transport}
	var mu sync.Mutex
	var report []exchange
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				method, path := "POST", fmt.Sprintf("/request/%d", i)
				body := make([]byte, size)
				if has("--mixed") {
					// What a Go client found paired wrongly: small and large replies, an upload.
					kinds := []string{"/text/", "/big/", "/text/", "/upload/"}
					path = fmt.Sprintf("%s%d", kinds[i%4], i)
					if i%4 != 3 {
						method, body = "GET", nil
					}
				}
				rand.Read(body)
				var lport int
				trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
					lport = info.Conn.LocalAddr().(*net.TCPAddr).Port
				}}
				ctx := httptrace.WithClientTrace(context.Background(), trace)
				var reader io.Reader
				if body != nil {
					reader = bytes.NewReader(body)
				}
				req, _ := http.NewRequestWithContext(ctx, method, url+path, reader)
				resp, err := client.Do(req)
				if err != nil {
					fail(err)
				}
				reply, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					fail(err)
				}
				mu.Lock()
				report = append(report, exchange{Port: lport, Path: path, Body: body, Reply: reply})
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	transport.CloseIdleConnections()
	out, _ := json.Marshal(report)
	if err := os.WriteFile(reportPath, out, 0o600); err != nil {
		fail(err)
	}
}

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: see the comment at the top of main.go"))
	}
	a := os.Args[2:]
	switch os.Args[1] {
	case "raw-client":
		rawClient(a[0], a[1], a[2], atoi(a[3]))
	case "raw-server":
		rawServer(a[0], a[1], a[2], a[3], atoi(a[4]), a[5], a[6])
	case "http-server":
		httpServer(a[0], a[1], a[2], a[3], a[4], atoi(a[5]))
	case "http-client":
		httpClient(a[0], a[1], atoi(a[2]), atoi(a[3]), atoi(a[4]))
	default:
		fail(fmt.Errorf("unknown mode %s", os.Args[1]))
	}
}
