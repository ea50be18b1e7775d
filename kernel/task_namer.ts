// For this module's other folders (http/), not part of the public API (no
// entry point exports it): spawn a task whose default name is worked out only
// when someone reads it. httpServer names each request's task `METHOD /path`,
// and reading a request's URL costs more than the rest of spawning it.
//
//   spawn(fn, { daemon: true, [nameFrom]: namer } as SpawnOptions)
//
// where `namer.taskName()` is called once, the first time the task's name is
// read (ps, a crash report, Task.name).

export { nameFrom, type TaskNamer } from "./_task_name.ts";
