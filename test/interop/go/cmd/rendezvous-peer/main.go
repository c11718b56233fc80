// Command rendezvous-peer is a rendezvous client and server on go-libp2p and github.com/waku-org/go-libp2p-rendezvous
// (the Go module with signed peer records), for the cross-implementation matrix of libp2p-rendezvous-discovery. It
// follows the command-line contract every peer of the matrix follows (test/interop/README.md):
//
//	rendezvous-peer server [-listen <multiaddr>] [-lifetime <duration>]
//	rendezvous-peer client -point <multiaddr> [-listen <multiaddr>] [-lifetime <duration>]
//
// Both print {"event":"listening",...} with their multiaddr once ready. A client then reads one JSON command per
// line on stdin (register, discover, unregister, discover-async, stop) and prints one JSON line per command
// (discover-async also prints one "discovered" event per registration it delivers). Both exit when stdin closes,
// on stop, on SIGINT/SIGTERM or after the lifetime, so that a failed test leaves nothing running.
//
// Requests are made by the module's own RendezvousPoint, so what goes on the wire is what that module sends.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	rendezvous "github.com/waku-org/go-libp2p-rendezvous"
	sqlite "github.com/waku-org/go-libp2p-rendezvous/db/sqlite"
)

// commandTimeout bounds one request; the module's own calls have no timeout of their own
const commandTimeout = 15 * time.Second

var stdout = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

func emit(v map[string]any) {
	stdout.Lock()
	defer stdout.Unlock()
	_ = stdout.enc.Encode(v)
}

type command struct {
	ID       any    `json:"id"`
	Op       string `json:"op"`
	Ns       string `json:"ns"`
	TTL      int    `json:"ttl"`
	Limit    int    `json:"limit"`
	Cookie   string `json:"cookie"`
	Interval int    `json:"interval"` // ms between DiscoverAsync's queries (the module's default is 2 minutes)
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "server" && os.Args[1] != "client") {
		fmt.Fprintln(os.Stderr, "usage: rendezvous-peer server|client [-point <multiaddr>] [-listen <multiaddr>] [-lifetime <duration>]")
		os.Exit(2)
	}
	mode := os.Args[1]
	flags := flag.NewFlagSet(mode, flag.ExitOnError)
	listen := flags.String("listen", "/ip4/127.0.0.1/tcp/0", "multiaddr to listen on")
	point := flags.String("point", "", "rendezvous point multiaddr ending in /p2p/<id> (client)")
	lifetime := flags.Duration("lifetime", 5*time.Minute, "exit after this long whatever happens")
	_ = flags.Parse(os.Args[2:])

	ctx, cancel := context.WithTimeout(context.Background(), *lifetime)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	h, err := libp2p.New(
		libp2p.ListenAddrStrings(*listen),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
	)
	if err != nil {
		fail(err)
	}
	defer h.Close()

	if mode == "server" {
		err = runServer(ctx, cancel, h)
	} else {
		err = runClient(ctx, cancel, h, *point)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rendezvous-peer:", err)
	os.Exit(1)
}

func announce(h host.Host) {
	emit(map[string]any{
		"event":     "listening",
		"peerId":    h.ID().String(),
		"multiaddr": fmt.Sprintf("%s/p2p/%s", h.Addrs()[0], h.ID()),
	})
}

// readCommands calls handle for every JSON line on stdin and cancels the run when stdin closes or says stop
func readCommands(ctx context.Context, cancel func(), handle func(command)) {
	go func() {
		defer cancel()
		scanner := bufio.NewScanner(os.Stdin)
		for scanner.Scan() {
			var c command
			if err := json.Unmarshal(scanner.Bytes(), &c); err != nil {
				emit(map[string]any{"ok": false, "error": "bad command: " + err.Error()})
				continue
			}
			if c.Op == "stop" {
				return
			}
			handle(c)
		}
	}()
	<-ctx.Done()
}

func runServer(ctx context.Context, cancel func(), h host.Host) error {
	dir, err := os.MkdirTemp("", "rendezvous-peer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// a file, not ":memory:": database/sql opens several connections and each would get its own empty database
	db, err := sqlite.OpenDB(ctx, filepath.Join(dir, "rendezvous.db"))
	if err != nil {
		return err
	}
	defer db.Close()

	rendezvous.NewRendezvousService(h, db)
	announce(h)
	readCommands(ctx, cancel, func(command) {})
	return nil
}

func runClient(ctx context.Context, cancel func(), h host.Host, pointText string) error {
	info, err := peer.AddrInfoFromString(pointText)
	if err != nil {
		return fmt.Errorf("bad -point %q: %w", pointText, err)
	}
	connectCtx, connectCancel := context.WithTimeout(ctx, 10*time.Second)
	defer connectCancel()
	if err := h.Connect(connectCtx, *info); err != nil {
		return fmt.Errorf("cannot reach the point: %w", err)
	}

	rp := rendezvous.NewRendezvousPoint(h, info.ID)
	announce(h)

	// commands run one after another, in the order given, as the other peers of the matrix run them
	queue := make(chan command, 64)
	go func() {
		for c := range queue {
			runCommand(ctx, rp, c)
		}
	}()
	readCommands(ctx, cancel, func(c command) { queue <- c })
	return nil
}

func reply(c command, fields map[string]any) {
	fields["id"] = c.ID
	fields["op"] = c.Op
	emit(fields)
}

func failed(c command, err error) {
	var rerr rendezvous.RendezvousError
	if errors.As(err, &rerr) {
		reply(c, map[string]any{"ok": false, "error": rerr.Status.String(), "statusText": rerr.Text})
		return
	}
	reply(c, map[string]any{"ok": false, "error": err.Error()})
}

func registrationJSON(reg rendezvous.Registration) map[string]any {
	addrs := make([]string, 0, len(reg.Peer.Addrs))
	for _, a := range reg.Peer.Addrs {
		addrs = append(addrs, a.String())
	}
	return map[string]any{"peerId": reg.Peer.ID.String(), "ns": reg.Ns, "ttl": reg.Ttl, "addrs": addrs}
}

func runCommand(ctx context.Context, rp rendezvous.RendezvousPoint, c command) {
	switch c.Op {
	case "register":
		reqCtx, cancel := context.WithTimeout(ctx, commandTimeout)
		defer cancel()
		// 0 sends no TTL, as the module does
		ttl, err := rp.Register(reqCtx, c.Ns, c.TTL)
		if err != nil {
			failed(c, err)
			return
		}
		reply(c, map[string]any{"ok": true, "ttl": int(ttl.Seconds())})

	case "unregister":
		reqCtx, cancel := context.WithTimeout(ctx, commandTimeout)
		defer cancel()
		if err := rp.Unregister(reqCtx, c.Ns); err != nil {
			failed(c, err)
			return
		}
		reply(c, map[string]any{"ok": true})

	case "discover":
		var cookie []byte
		if c.Cookie != "" {
			var err error
			if cookie, err = hex.DecodeString(c.Cookie); err != nil {
				failed(c, fmt.Errorf("bad cookie: %w", err))
				return
			}
		}
		reqCtx, cancel := context.WithTimeout(ctx, commandTimeout)
		defer cancel()
		regs, next, err := rp.Discover(reqCtx, c.Ns, c.Limit, cookie)
		if err != nil {
			failed(c, err)
			return
		}
		out := make([]map[string]any, 0, len(regs))
		for _, reg := range regs {
			out = append(out, registrationJSON(reg))
		}
		reply(c, map[string]any{"ok": true, "registrations": out, "cookie": hex.EncodeToString(next)})

	case "discover-async":
		// the module reads this package variable between queries; it is set before the first one
		if c.Interval > 0 {
			rendezvous.DiscoverAsyncInterval = time.Duration(c.Interval) * time.Millisecond
		}
		ch, err := rp.DiscoverAsync(ctx, c.Ns)
		if err != nil {
			failed(c, err)
			return
		}
		reply(c, map[string]any{"ok": true, "started": true})
		// the channel closes when the module gives up on its stream: report that, it is what the matrix looks for
		go func() {
			for reg := range ch {
				fields := registrationJSON(reg)
				fields["event"] = "discovered"
				fields["id"] = c.ID
				emit(fields)
			}
			emit(map[string]any{"event": "async-closed", "id": c.ID})
		}()

	default:
		failed(c, fmt.Errorf("go client has no command %q", c.Op))
	}
}
