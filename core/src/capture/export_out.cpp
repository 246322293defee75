// The exporters' output file and shared helpers (export_out.h).
#include "capture/export_out.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "linux/os.h"

namespace ready::capture::exporting {

Out::Out(OwnedFd fd, std::size_t flush_at) : fd_(std::move(fd)), flush_at_(flush_at) {
  // The margin: one record's text is at most a few KiB (outside text is bounded upstream).
  buf.reserve(flush_at + 64 * 1024);
}

io_result<Out> Out::create(const std::string& path, bool overwrite, std::size_t flush_at) {
  auto fd = os::create_write(path, overwrite);
  if (!fd) return std::unexpected(fd.error());
  return Out(std::move(*fd), flush_at);
}

io_result<void> Out::usable() const {
  if (failed_) return std::unexpected(failed_);
  if (!fd_) return std::unexpected(os_error(EBADF));
  return {};
}

io_result<void> Out::flush() {
  if (auto u = usable(); !u) return u;
  if (auto n = os::write_all(fd_.get(), buf); !n) {
    failed_ = n.error();
    return std::unexpected(failed_);
  }
  written_ += buf.size();
  buf.clear();
  return {};
}

io_result<void> Out::close() {
  if (!fd_) return {};
  io_result<void> result = failed_ ? io_result<void>(std::unexpected(failed_)) : flush();
  if (auto ec = fd_.close(); ec && result) result = std::unexpected(ec);
  return result;
}

void put_json_string(std::string& out, std::string_view s) {
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const SourceAddresses& AddressBook::refresh(std::uint64_t token) {
  SourceAddresses& a = known_[token];
  if (options_.addresses) {
    if (auto got = options_.addresses(token)) a = std::move(*got);
  }
  return a;
}

}  // namespace ready::capture::exporting
