package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
	rendezvous "github.com/waku-org/go-libp2p-rendezvous"
)

// command is one line of stdin. Every command gets one "reply" event with the same id, "ok" and either its
// result fields or "error".
type command struct {
	ID  int    `json:"id"`
	Cmd string `json:"cmd"`
	// publish
	Topic string `json:"topic"`
	Data  string `json:"data"`
	// discover: the index of the point in -point order, the namespace and the most registrations wanted
	Point int    `json:"point"`
	Ns    string `json:"ns"`
	Limit int    `json:"limit"`
	// connect, ping
	Peer  string   `json:"peer"`
	Addrs []string `json:"addrs"`
	// bound on the command, in ms (default 10000)
	TimeoutMs int `json:"timeoutMs"`
}

const defaultCommandTimeout = 10 * time.Second

// readCommands runs each command in its own goroutine, so that a slow dial does not hold up a publish, and
// stops the node when stdin closes or says "stop"
func (n *node) readCommands(ctx context.Context, in io.Reader, stop context.CancelFunc) {
	defer stop()
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		var cmd command
		if err := json.Unmarshal(scanner.Bytes(), &cmd); err != nil {
			n.out.emit(map[string]any{"event": "reply", "id": -1, "ok": false, "error": fmt.Sprintf("bad command %q: %v", scanner.Text(), err)})
			continue
		}
		if cmd.Cmd == "stop" {
			n.out.emit(map[string]any{"event": "reply", "id": cmd.ID, "ok": true})
			return
		}
		go n.handle(ctx, cmd)
	}
}

func (n *node) handle(ctx context.Context, cmd command) {
	timeout := defaultCommandTimeout
	if cmd.TimeoutMs > 0 {
		timeout = time.Duration(cmd.TimeoutMs) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	result, err := n.execute(ctx, cmd)
	reply := map[string]any{"event": "reply", "id": cmd.ID, "ok": err == nil}
	if err != nil {
		reply["error"] = err.Error()
	}
	for k, v := range result {
		reply[k] = v
	}
	n.out.emit(reply)
}

func (n *node) execute(ctx context.Context, cmd command) (map[string]any, error) {
	switch cmd.Cmd {
	case "publish":
		topic, err := n.topic(cmd.Topic)
		if err != nil {
			return nil, err
		}
		return nil, topic.Publish(ctx, []byte(cmd.Data))
	case "discover":
		return n.discover(ctx, cmd)
	case "connect":
		return n.connect(ctx, cmd)
	case "ping":
		return n.ping(ctx, cmd)
	case "status":
		topicPeers := map[string][]string{}
		mesh := map[string][]string{}
		n.mu.Lock()
		for name, topic := range n.topics {
			topicPeers[name] = n.connectedTopicPeers(topic)
			mesh[name] = n.mesh.peers(name)
		}
		n.mu.Unlock()
		return map[string]any{"connections": n.connections(), "topicPeers": topicPeers, "mesh": mesh}, nil
	default:
		return nil, fmt.Errorf("unknown command %q", cmd.Cmd)
	}
}

type registration struct {
	Peer  string   `json:"peer"`
	Addrs []string `json:"addrs"`
	Ttl   int      `json:"ttl"`
}

// discover asks one point for the registrations under a namespace, from the start (no cookie), with the Go
// client's own Discover
func (n *node) discover(ctx context.Context, cmd command) (map[string]any, error) {
	if cmd.Point < 0 || cmd.Point >= len(n.points) {
		return nil, fmt.Errorf("no point %d (have %d)", cmd.Point, len(n.points))
	}
	limit := cmd.Limit
	if limit <= 0 {
		limit = 100
	}
	point := rendezvous.NewRendezvousPoint(n.host, n.points[cmd.Point].ID)
	regs, _, err := point.Discover(ctx, cmd.Ns, limit, nil)
	if err != nil {
		return nil, err
	}
	found := make([]registration, 0, len(regs))
	for _, reg := range regs {
		addrs := make([]string, 0, len(reg.Peer.Addrs))
		for _, a := range reg.Peer.Addrs {
			addrs = append(addrs, a.String())
		}
		found = append(found, registration{Peer: reg.Peer.ID.String(), Addrs: addrs, Ttl: reg.Ttl})
	}
	return map[string]any{"registrations": found}, nil
}

// connect dials a peer at the given addresses (e.g. /p2p-circuit ones from a discovered record), accepting a
// relayed (limited) connection, and reports the connection it got
func (n *node) connect(ctx context.Context, cmd command) (map[string]any, error) {
	id, err := peer.Decode(cmd.Peer)
	if err != nil {
		return nil, fmt.Errorf("bad peer id %q: %w", cmd.Peer, err)
	}
	info := peer.AddrInfo{ID: id}
	for _, text := range cmd.Addrs {
		addr, err := ma.NewMultiaddr(text)
		if err != nil {
			return nil, fmt.Errorf("bad multiaddr %q: %w", text, err)
		}
		info.Addrs = append(info.Addrs, addr)
	}
	// dial again rather than reuse what the peerstore remembers: the test wants these addresses tried
	n.host.Peerstore().ClearAddrs(id)
	if err := n.host.Connect(network.WithAllowLimitedConn(ctx, "dial a browser through its relay"), info); err != nil {
		return nil, err
	}
	conns := n.host.Network().ConnsToPeer(id)
	if len(conns) == 0 {
		return nil, errors.New("connected, but the connection closed at once")
	}
	c := conns[len(conns)-1]
	return map[string]any{"remoteAddr": c.RemoteMultiaddr().String(), "limited": c.Stat().Limited}, nil
}

// ping sends one /ipfs/ping/1.0.0 over the connection there is, relayed or not
func (n *node) ping(ctx context.Context, cmd command) (map[string]any, error) {
	id, err := peer.Decode(cmd.Peer)
	if err != nil {
		return nil, fmt.Errorf("bad peer id %q: %w", cmd.Peer, err)
	}
	select {
	case res := <-ping.Ping(ctx, n.host, id):
		if res.Error != nil {
			return nil, res.Error
		}
		return map[string]any{"rttMs": float64(res.RTT.Microseconds()) / 1000}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
