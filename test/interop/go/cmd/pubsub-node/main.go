// Command pubsub-node is a go-libp2p node for the Go–JS network tests: GossipSub from go-libp2p-pubsub whose
// peer discovery is go-libp2p-pubsub's own mechanism (pubsub.WithDiscovery) over the rendezvous client of
// github.com/waku-org/go-libp2p-rendezvous, on TCP with the circuit relay v2 client.
//
// It prints one JSON object per line on stdout (events: listening; topic-peers, the connected topic peers and the
// GossipSub mesh whenever either changes; message; reply) and takes one JSON command per line on stdin (publish,
// discover, connect, ping, status, stop), so that a test drives it step by step and times each step. It exits on "stop", on SIGINT/SIGTERM, when stdin closes (its parent is gone) and at
// the latest after -lifetime, so that a test that fails never leaves it running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	rendezvous "github.com/waku-org/go-libp2p-rendezvous"
)

// listFlag collects a repeatable flag
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type config struct {
	listen    listFlag
	points    listFlag
	topic     string
	discovery string
	lifetime  time.Duration
	logLevel  slog.Level
}

func parseFlags() (config, error) {
	var cfg config
	flag.Var(&cfg.listen, "listen", "multiaddr to listen on, repeatable (default /ip4/127.0.0.1/tcp/0)")
	flag.Var(&cfg.points, "point", "rendezvous point multiaddr ending in /p2p/<id>, repeatable; the first one serves pubsub discovery")
	flag.StringVar(&cfg.topic, "topic", "", "pubsub topic to join and subscribe to (none: no topic)")
	flag.StringVar(&cfg.discovery, "discovery", "pubsub", `"pubsub": pubsub.WithDiscovery over the rendezvous discovery of the first point; "none": only the commands discover`)
	flag.DurationVar(&cfg.lifetime, "lifetime", 10*time.Minute, "exit after this long whatever happens")
	logLevel := flag.String("log-level", "warn", "go-libp2p-pubsub's log level on stderr: debug, info, warn or error")
	flag.Parse()

	if err := cfg.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return cfg, fmt.Errorf("-log-level: %w", err)
	}

	if len(cfg.listen) == 0 {
		cfg.listen = listFlag{"/ip4/127.0.0.1/tcp/0"}
	}
	if cfg.discovery != "pubsub" && cfg.discovery != "none" {
		return cfg, fmt.Errorf(`-discovery must be "pubsub" or "none", got %q`, cfg.discovery)
	}
	if cfg.discovery == "pubsub" && len(cfg.points) == 0 {
		return cfg, errors.New("-discovery pubsub needs a -point")
	}
	return cfg, nil
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pubsub-node:", err)
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.lifetime)
	defer cancel()
	ctx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()

	if err := run(ctx, cancel, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "pubsub-node:", err)
		os.Exit(1)
	}
}

func newHost(cfg config) (host.Host, error) {
	return libp2p.New(
		libp2p.ListenAddrStrings(cfg.listen...),
		// TCP only: a browser is reached through the TCP address of its relay, never over WebSockets
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.EnableRelay(),
		libp2p.Ping(true),
	)
}

// connectPoints dials every rendezvous point, retrying for a few seconds (the point may still be starting)
func connectPoints(ctx context.Context, h host.Host, points []string) ([]peer.AddrInfo, error) {
	infos := make([]peer.AddrInfo, 0, len(points))
	for _, text := range points {
		info, err := peer.AddrInfoFromString(text)
		if err != nil {
			return nil, fmt.Errorf("bad -point %q: %w", text, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			dialCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err = h.Connect(dialCtx, *info)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, fmt.Errorf("cannot reach rendezvous point %s: %w", text, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		infos = append(infos, *info)
	}
	return infos, nil
}

func run(ctx context.Context, cancel context.CancelFunc, cfg config) error {
	out := newEventWriter(os.Stdout)

	h, err := newHost(cfg)
	if err != nil {
		return fmt.Errorf("cannot create the host: %w", err)
	}
	defer h.Close()

	points, err := connectPoints(ctx, h, cfg.points)
	if err != nil {
		return err
	}

	// go-libp2p opens no stream on a relayed (limited) connection unless the context allows it; pubsub opens its
	// streams with the context it is given, so this lets GossipSub talk to a browser reached through a relay
	psCtx := network.WithAllowLimitedConn(ctx, "pubsub with browsers behind relays")
	mesh := newMeshTracer()
	opts := []pubsub.Option{
		pubsub.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.logLevel}))),
		pubsub.WithRawTracer(mesh),
	}
	if cfg.discovery == "pubsub" {
		// go-libp2p-pubsub advertises and finds "floodsub:<topic>" through this discovery
		opts = append(opts, pubsub.WithDiscovery(rendezvous.NewRendezvousDiscovery(h, points[0].ID)))
	}
	ps, err := pubsub.NewGossipSub(psCtx, h, opts...)
	if err != nil {
		return fmt.Errorf("cannot start gossipsub: %w", err)
	}

	node := &node{host: h, pubsub: ps, mesh: mesh, points: points, out: out, topics: map[string]*pubsub.Topic{}}
	if cfg.topic != "" {
		if err := node.subscribe(ctx, cfg.topic); err != nil {
			return err
		}
	}

	addrs := make([]string, 0)
	for _, a := range h.Addrs() {
		addrs = append(addrs, fmt.Sprintf("%s/p2p/%s", a, h.ID()))
	}
	out.emit(map[string]any{"event": "listening", "peerId": h.ID().String(), "multiaddrs": addrs, "topic": cfg.topic, "discovery": cfg.discovery})

	go node.readCommands(ctx, os.Stdin, cancel)

	<-ctx.Done()
	return nil
}
