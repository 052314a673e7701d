package tpm

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Default TPM device nodes, tried in order: the kernel resource manager,
// then the raw device.
var defaultDevices = []string{"/dev/tpmrm0", "/dev/tpm0"}

// dialTimeout bounds connecting to a TPM simulator.
const dialTimeout = 5 * time.Second

// ioTimeout bounds one command/response exchange with a TPM simulator (an
// RSA-2048 key generation on swtpm takes well under a second).
const ioTimeout = 60 * time.Second

// resolveDevice returns the TPM to use: dev, else $TPM_DEVICE (the official
// helper's variable), else the first default device node that exists.
func resolveDevice(dev string) (string, error) {
	if dev != "" {
		return dev, nil
	}
	if env := os.Getenv("TPM_DEVICE"); env != "" {
		return env, nil
	}
	for _, d := range defaultDevices {
		if _, err := os.Stat(d); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("tpm: no TPM found (%s are missing; set TPM_DEVICE for a simulator)", strings.Join(defaultDevices, ", "))
}

// openDevice opens the TPM named dev:
//
//   - a character device (/dev/tpmrm0);
//   - a unix socket of a simulator (swtpm socket --server type=unixio,path=…);
//   - "swtpm:host=H,port=P" (the tpm2-tss TCTI syntax) for swtpm's TCP
//     server; host defaults to localhost and port to 2321.
func openDevice(dev string) (io.ReadWriteCloser, error) {
	if rest, ok := strings.CutPrefix(dev, "swtpm:"); ok {
		addr, err := parseSwtpmTCTI(rest)
		if err != nil {
			return nil, err
		}
		c, err := net.DialTimeout("tcp", addr, dialTimeout)
		if err != nil {
			return nil, fmt.Errorf("tpm: connect to swtpm: %w", err)
		}
		return &streamTPM{conn: c}, nil
	}
	fi, err := os.Stat(dev)
	if err != nil {
		return nil, fmt.Errorf("tpm: open %s: %w", dev, err)
	}
	switch {
	case fi.Mode()&os.ModeSocket != 0:
		c, err := net.DialTimeout("unix", dev, dialTimeout)
		if err != nil {
			return nil, fmt.Errorf("tpm: connect to %s: %w", dev, err)
		}
		return &streamTPM{conn: c}, nil
	case fi.Mode()&os.ModeDevice != 0:
		f, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("tpm: open %s: %w", dev, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("tpm: %s is neither a TPM device nor a simulator socket", dev)
}

// parseSwtpmTCTI parses the configuration of the swtpm TCTI,
// "host=H,port=P" (both optional), into a TCP address.
func parseSwtpmTCTI(conf string) (string, error) {
	host, port := "localhost", "2321"
	if conf != "" {
		for _, kv := range strings.Split(conf, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return "", fmt.Errorf("tpm: swtpm TCTI %q: want host=…,port=…", conf)
			}
			switch k {
			case "host":
				host = v
			case "port":
				if n, err := strconv.ParseUint(v, 10, 16); err != nil || n == 0 {
					return "", fmt.Errorf("tpm: swtpm TCTI: bad port %q", v)
				}
				port = v
			default:
				return "", fmt.Errorf("tpm: swtpm TCTI: unknown option %q", k)
			}
		}
	}
	return net.JoinHostPort(host, port), nil
}

// streamTPM carries TPM commands over a stream socket. go-tpm reads a
// response with a single Read, which on a stream may return part of it;
// streamTPM reads the 10-byte response header, then exactly the size it
// announces, and hands the whole response to the next Reads.
type streamTPM struct {
	conn    net.Conn
	pending []byte
}

// maxResponse bounds a response size read from the socket.
const maxResponse = 1 << 16

func (s *streamTPM) Write(p []byte) (int, error) {
	s.conn.SetDeadline(time.Now().Add(ioTimeout))
	return s.conn.Write(p)
}

func (s *streamTPM) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		var hdr [10]byte // tag (2), size (4), response code (4)
		if _, err := io.ReadFull(s.conn, hdr[:]); err != nil {
			return 0, fmt.Errorf("tpm: read response: %w", err)
		}
		size := binary.BigEndian.Uint32(hdr[2:6])
		if size < uint32(len(hdr)) || size > maxResponse {
			return 0, fmt.Errorf("tpm: response size %d out of range", size)
		}
		resp := make([]byte, size)
		copy(resp, hdr[:])
		if _, err := io.ReadFull(s.conn, resp[len(hdr):]); err != nil {
			return 0, fmt.Errorf("tpm: read response: %w", err)
		}
		s.pending = resp
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *streamTPM) Close() error {
	return s.conn.Close()
}
