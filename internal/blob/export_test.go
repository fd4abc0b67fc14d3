package blob

// SetBeforeRename lets a test stop a Put after its temporary file is written and synced,
// before the rename: where a crash leaves a leftover.
func SetBeforeRename(d *Disk, fn func(tmp string)) { d.beforeRename = fn }
