// The Follow stream panel: one relayed connection's conversation, both directions in time
// order, as socat -v prints it (docs/gui.md, "Follow stream").
#pragma once

#include <QByteArray>
#include <QString>
#include <QWidget>

#include <cstdint>
#include <vector>

#include "ready/capture/follow.h"
#include "session/capture_session.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace ready::ui {

/// The conversation of the relayed connection the selected source belongs to (its client leg
/// or its upstream leg; capture::follow_client_leg). It reads the client leg's payload
/// through the session (CaptureSession::payload: a live engine or an opened recording alike),
/// on each frame only what is new since the last snapshot (capture::Conversation::next), and
/// appends it: each chunk a header line ("> 1.234567 s  length=5 from=0 to=4") and its bytes,
/// in text (socat -v) or hex (hexdump -C); client -> server in one colour, server -> client in
/// the other (direction_colour, readable on light and dark bases; the '>' / '<' mark says it
/// too). Above it: the note that chunks are read() boundaries, the byte and chunk counts per
/// direction and the bytes not kept. A search box finds the next match in the shown text and
/// selects it; Copy and Save… take one direction's bytes (the raw bytes: Save writes them as
/// they went, no escaping).
///
/// Bounds: the panel keeps at most kMaxKeptBytes of the conversation's bytes (the oldest
/// chunks leave first, counted as "dropped from the view"); the engine's payload bound per
/// source (64 KiB by default) usually ends a live conversation's history sooner, shown as a
/// gap line. While the panel is hidden it fetches nothing; shown again, it catches up with
/// what the capture still keeps.
class FollowPanel : public QWidget {
  Q_OBJECT

 public:
  static constexpr std::size_t kMaxKeptBytes = std::size_t{8} << 20;

  explicit FollowPanel(CaptureSession& session, QWidget* parent = nullptr);

  /// Follows the relayed connection `token` is a leg of; any other source (or 0) clears the
  /// panel and says how to pick one. Setting the same connection again keeps what is shown.
  void setSource(std::uint64_t token);
  /// The client leg of the connection followed (0: none).
  [[nodiscard]] std::uint64_t connection() const noexcept { return m_leg; }

  /// Text (socat -v) or hex (hexdump -C) bodies.
  void setHex(bool hex);
  [[nodiscard]] bool isHex() const noexcept { return m_format == capture::FollowFormat::hex; }

  /// The view's text (tests, copy).
  [[nodiscard]] QString text() const;
  /// The counts line ("client → server 78 B in 1 chunk · ...").
  [[nodiscard]] QString countsText() const;
  /// The conversation's counters.
  [[nodiscard]] const capture::Conversation& conversation() const noexcept { return m_conversation; }
  /// The bytes kept in the panel that went `d` (in: client -> server), in order.
  [[nodiscard]] QByteArray directionBytes(capture::Direction d) const;
  /// Writes directionBytes(d) to `path` (replacing it); false and `error` on failure.
  bool saveDirection(capture::Direction d, const QString& path, QString* error = nullptr) const;

  /// Selects the next match of `needle` in the view after the current selection, from the
  /// top again past the end; false when there is none.
  bool findNext(const QString& needle);
  /// The selected match ("" when none).
  [[nodiscard]] QString selectedText() const;

 public slots:
  /// Fetches what the client leg's payload gained since the last call and appends it.
  void onFrame();

 protected:
  void showEvent(QShowEvent* event) override;

 private:
  void updateTitle();
  void clearView();
  void render();
  void append(const capture::FollowItem& item);
  void updateCounts();
  void copyDirection();
  void saveDirectionAs();
  [[nodiscard]] capture::Direction chosenDirection() const;

  CaptureSession& m_session;
  std::uint64_t m_leg = 0;
  capture::Conversation m_conversation;
  std::vector<capture::FollowItem> m_items;
  std::size_t m_keptBytes = 0;
  std::uint64_t m_droppedBytes = 0;
  bool m_closed = false;
  bool m_titleDone = false;  // all three addresses known
  capture::FollowFormat m_format = capture::FollowFormat::text;

  QLabel* m_title = nullptr;
  QLabel* m_counts = nullptr;
  QPlainTextEdit* m_view = nullptr;
  QComboBox* m_mode = nullptr;
  QLineEdit* m_search = nullptr;
  QLabel* m_searchStatus = nullptr;
  QComboBox* m_direction = nullptr;
  QPushButton* m_copy = nullptr;
  QPushButton* m_save = nullptr;
};

}  // namespace ready::ui
