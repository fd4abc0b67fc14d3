package webapi

import "sync"

// poolOf is a websocket.BufferPool over sync.Pool, shared by all connections.
type poolOf struct{ p sync.Pool }

func (b *poolOf) Get() any  { return b.p.Get() }
func (b *poolOf) Put(x any) { b.p.Put(x) }
