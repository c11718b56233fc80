package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// How often the connected topic peers and the mesh are recomputed; a change of either is printed as a
// "topic-peers" event
const topicPeersInterval = 100 * time.Millisecond

type node struct {
	host   host.Host
	pubsub *pubsub.PubSub
	mesh   *meshTracer
	points []peer.AddrInfo
	out    *eventWriter

	mu     sync.Mutex
	topics map[string]*pubsub.Topic
}

// subscribe joins the topic (which makes pubsub advertise and discover it), prints every message from others,
// and prints the connected topic peers whenever they change
func (n *node) subscribe(ctx context.Context, name string) error {
	topic, err := n.pubsub.Join(name)
	if err != nil {
		return fmt.Errorf("cannot join topic %q: %w", name, err)
	}
	sub, err := topic.Subscribe()
	if err != nil {
		return fmt.Errorf("cannot subscribe to topic %q: %w", name, err)
	}
	n.mu.Lock()
	n.topics[name] = topic
	n.mu.Unlock()

	go n.printMessages(ctx, name, sub)
	go n.watchTopicPeers(ctx, name, topic)
	return nil
}

func (n *node) topic(name string) (*pubsub.Topic, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	topic, ok := n.topics[name]
	if !ok {
		return nil, fmt.Errorf("not subscribed to topic %q", name)
	}
	return topic, nil
}

func (n *node) printMessages(ctx context.Context, name string, sub *pubsub.Subscription) {
	for {
		msg, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if msg.ReceivedFrom == n.host.ID() {
			continue
		}
		n.out.emit(map[string]any{
			"event":        "message",
			"topic":        name,
			"from":         msg.GetFrom().String(),
			"receivedFrom": msg.ReceivedFrom.String(),
			"data":         string(msg.Data),
		})
	}
}

// connectedTopicPeers lists the peers pubsub knows subscribed to the topic that are connected now, relayed or not
func (n *node) connectedTopicPeers(topic *pubsub.Topic) []string {
	peers := make([]string, 0)
	for _, p := range topic.ListPeers() {
		if n.host.Network().Connectedness(p) != network.NotConnected {
			peers = append(peers, p.String())
		}
	}
	slices.Sort(peers)
	return peers
}

func (n *node) watchTopicPeers(ctx context.Context, name string, topic *pubsub.Topic) {
	ticker := time.NewTicker(topicPeersInterval)
	defer ticker.Stop()
	var lastPeers, lastMesh []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		peers := n.connectedTopicPeers(topic)
		mesh := n.mesh.peers(name)
		if !slices.Equal(peers, lastPeers) || !slices.Equal(mesh, lastMesh) {
			lastPeers, lastMesh = peers, mesh
			n.out.emit(map[string]any{"event": "topic-peers", "topic": name, "count": len(peers), "peers": peers, "mesh": mesh})
		}
	}
}

type connectionInfo struct {
	Peer       string `json:"peer"`
	RemoteAddr string `json:"remoteAddr"`
	Limited    bool   `json:"limited"`
	Direction  string `json:"direction"`
}

func (n *node) connections() []connectionInfo {
	conns := n.host.Network().Conns()
	infos := make([]connectionInfo, 0, len(conns))
	for _, c := range conns {
		stat := c.Stat()
		infos = append(infos, connectionInfo{
			Peer:       c.RemotePeer().String(),
			RemoteAddr: c.RemoteMultiaddr().String(),
			Limited:    stat.Limited,
			Direction:  stat.Direction.String(),
		})
	}
	return infos
}
