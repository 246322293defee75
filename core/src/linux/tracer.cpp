// Placeholder so the interface builds; the tracer thread follows in the next commits.
#include "ready/attach/tracer.h"

#include <cerrno>

namespace ready::attach {

struct Tracer::Impl {};

bool TraceEvent::is_input() const noexcept { return false; }

io_result<std::unique_ptr<Tracer>> Tracer::attach(pid_t, TraceOptions) { return std::unexpected(os_error(ENOSYS)); }
io_result<std::unique_ptr<Tracer>> Tracer::launch(const std::vector<std::string>&, TraceOptions) {
  return std::unexpected(os_error(ENOSYS));
}
std::string Tracer::error_text(pid_t, const std::error_code& ec) { return ec.message(); }
Tracer::Tracer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Tracer::~Tracer() = default;
pid_t Tracer::pid() const noexcept { return 0; }
int Tracer::fd() const noexcept { return -1; }
std::size_t Tracer::drain(std::vector<TraceEvent>&) { return 0; }
std::uint64_t Tracer::dropped() const noexcept { return 0; }
bool Tracer::finished() const noexcept { return true; }
void Tracer::stop() {}

}  // namespace ready::attach
