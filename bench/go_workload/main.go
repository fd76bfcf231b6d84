// The Go side of bench/: the same two-process TLS workload as tls_workload.cc, through Go's
// crypto/tls (each (*tls.Conn).Write/Read is one probed call). Prints the same JSON line, so
// bench/run.py measures Go exactly as it measures OpenSSL.
//
//	go_workload --mode pingpong|bulk --count N --size S
//
// pingpong: the client writes S bytes, the server reads them and echoes them back, N times.
// bulk:     the client streams N messages of S bytes; the server reads until it has them all.
// The server is this program again (`serve`), a child process; it reports over its stdout.
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

type report struct {
	Calls        uint64  `json:"calls"`
	BytesRead    uint64  `json:"bytes_read"`
	BytesWritten uint64  `json:"bytes_written"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	ReadSHA256   string  `json:"read_sha256"`
	WriteSHA256  string  `json:"write_sha256"`
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "go_workload:", err)
	os.Exit(1)
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		die(err)
	}
	template := x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		die(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// payload: deterministic bytes, a different window per message (as tls_workload's).
func payload(size int) []byte {
	pool := make([]byte, size+(1<<16))
	state := uint64(0x9e3779b97f4a7c15)
	for i := range pool {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		pool[i] = byte(state >> 24)
	}
	return pool
}

func message(pool []byte, size int, index int) []byte {
	off := (index * 4099) % (1 << 16)
	return pool[off : off+size]
}

// counted: every Read/Write on the TLS connection is one call, hashed.
type counted struct {
	conn        *tls.Conn
	calls       uint64
	read, wrote uint64
	readHash    hash.Hash
	writeHash   hash.Hash
}

func (c *counted) readFull(buf []byte) error {
	for got := 0; got < len(buf); {
		n, err := c.conn.Read(buf[got:])
		c.calls++
		c.readHash.Write(buf[got : got+n])
		c.read += uint64(n)
		got += n
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *counted) write(buf []byte) error {
	n, err := c.conn.Write(buf)
	c.calls++
	c.writeHash.Write(buf[:n])
	c.wrote += uint64(n)
	return err
}

func serve(mode string, count, size int) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned()}})
	if err != nil {
		die(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	raw, err := ln.Accept()
	if err != nil {
		die(err)
	}
	conn := raw.(*tls.Conn)
	raw.(*tls.Conn).NetConn().(*net.TCPConn).SetNoDelay(true)
	if err := conn.Handshake(); err != nil {
		die(err)
	}
	start := cpuSeconds()
	c := &counted{conn: conn, readHash: sha256.New(), writeHash: sha256.New()}
	if mode == "pingpong" {
		buf := make([]byte, size)
		for i := 0; i < count; i++ {
			if err := c.readFull(buf); err != nil {
				die(err)
			}
			if err := c.write(buf); err != nil {
				die(err)
			}
		}
	} else {
		buf := make([]byte, 16384)
		for left := count * size; left > 0; {
			n := len(buf)
			if left < n {
				n = left
			}
			if err := c.readFull(buf[:n]); err != nil {
				die(err)
			}
			left -= n
		}
	}
	r := report{Calls: c.calls, BytesRead: c.read, BytesWritten: c.wrote, CPUSeconds: cpuSeconds() - start,
		ReadSHA256: hex.EncodeToString(c.readHash.Sum(nil)), WriteSHA256: hex.EncodeToString(c.writeHash.Sum(nil))}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	conn.Close()
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		count, _ := strconv.Atoi(os.Args[3])
		size, _ := strconv.Atoi(os.Args[4])
		serve(os.Args[2], count, size)
		return
	}
	mode := flag.String("mode", "pingpong", "pingpong or bulk")
	count := flag.Int("count", 10000, "messages")
	size := flag.Int("size", 64, "bytes per message")
	flag.String("api", "go", "ignored: Go has one API")
	flag.Parse()

	server := exec.Command(os.Args[0], "serve", *mode, strconv.Itoa(*count), strconv.Itoa(*size))
	server.Stderr = os.Stderr
	out, err := server.StdoutPipe()
	if err != nil {
		die(err)
	}
	if err := server.Start(); err != nil {
		die(err)
	}
	lines := bufio.NewReader(out)
	portLine, err := lines.ReadString('\n')
	if err != nil {
		die(err)
	}
	conn, err := tls.Dial("tcp", "127.0.0.1:"+portLine[:len(portLine)-1], &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		die(err)
	}
	conn.NetConn().(*net.TCPConn).SetNoDelay(true)
	if err := conn.Handshake(); err != nil {
		die(err)
	}
	pool := payload(*size)
	c := &counted{conn: conn, readHash: sha256.New(), writeHash: sha256.New()}
	cpuStart := cpuSeconds()
	began := time.Now()
	buf := make([]byte, *size)
	for i := 0; i < *count; i++ {
		if err := c.write(message(pool, *size, i)); err != nil {
			die(err)
		}
		if *mode == "pingpong" {
			if err := c.readFull(buf); err != nil {
				die(err)
			}
		}
	}
	reportLine, err := lines.ReadString('\n') // bulk: the clock stops when the server has it all
	if err != nil {
		die(err)
	}
	seconds := time.Since(began).Seconds()
	clientCPU := cpuSeconds() - cpuStart
	var r report
	if err := json.Unmarshal([]byte(reportLine), &r); err != nil {
		die(err)
	}
	conn.Close()
	server.Wait()
	calls := c.calls + r.Calls
	bytes := c.wrote + r.BytesWritten
	result := map[string]interface{}{
		"mode": *mode, "api": "go", "count": *count, "size": *size,
		"client_pid": os.Getpid(), "server_pid": server.Process.Pid,
		"calls": calls, "client_calls": c.calls, "server_calls": r.Calls, "bytes": bytes,
		"seconds": seconds, "calls_per_s": float64(calls) / seconds,
		"mb_per_s": float64(bytes) / seconds / 1e6, "cpu_seconds": clientCPU + r.CPUSeconds,
		"client_cpu_seconds": clientCPU, "server_cpu_seconds": r.CPUSeconds,
		"client_written": c.wrote, "server_read": r.BytesRead, "server_written": r.BytesWritten,
		"client_read": c.read, "client_write_sha256": hex.EncodeToString(c.writeHash.Sum(nil)),
		"server_read_sha256": r.ReadSHA256, "server_write_sha256": r.WriteSHA256,
		"client_read_sha256": hex.EncodeToString(c.readHash.Sum(nil)),
	}
	line, _ := json.Marshal(result)
	fmt.Println(string(line))
}
