# ready_warnings: the warning set every ReadyScope target links (INTERFACE, so it adds
# flags to the consumer only; it is never exported or installed).
#
# No -Wconversion / -Wsign-conversion: with POSIX APIs (ssize_t returns, socklen_t,
# epoll's uint32_t masks) they flag nearly every syscall site and bury real warnings.
# Qt and system headers come in as SYSTEM includes, so their warnings stay silent.
add_library(ready_warnings INTERFACE)
target_compile_options(ready_warnings INTERFACE
  -Wall
  -Wextra
  -Wpedantic
  -Wshadow
  -Wnon-virtual-dtor
  -Wold-style-cast
  -Wcast-align
  -Woverloaded-virtual
  -Wnull-dereference
  -Wimplicit-fallthrough
  $<$<BOOL:${READY_WERROR}>:-Werror>
)
