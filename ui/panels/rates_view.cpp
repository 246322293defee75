#include "panels/rates_view.h"

#include <QChart>
#include <QChartView>
#include <QEvent>
#include <QShowEvent>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QValueAxis>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/hex.h"

namespace ready::ui {

namespace {

QList<QPointF> points(const RatesModel::Binned& b, const std::vector<std::uint64_t>* subtract = nullptr) {
  QList<QPointF> out;
  out.reserve(static_cast<qsizetype>(b.counts.size()));
  const double width_s = static_cast<double>(b.bucket_ns) / 1e9;
  for (std::size_t i = 0; i < b.counts.size(); ++i) {
    std::uint64_t c = b.counts[i];
    if (subtract) c -= std::min(c, (*subtract)[i]);
    const double mid = (static_cast<double>(b.start_ns) + (static_cast<double>(i) + 0.5) * static_cast<double>(b.bucket_ns)) / 1e9;
    out.append(QPointF(mid, static_cast<double>(c) / width_s));
  }
  return out;
}

double max_y(const QList<QPointF>& p, double m) {
  for (const QPointF& q : p) m = std::max(m, q.y());
  return m;
}

QLineSeries* line(QChart* chart, const QString& name, QAbstractAxis* x, QAbstractAxis* y) {
  auto* s = new QLineSeries(chart);
  s->setName(name);
  chart->addSeries(s);
  s->attachAxis(x);
  s->attachAxis(y);
  return s;
}

QChart* make_chart(QValueAxis*& x, QValueAxis*& y, const QString& ytitle) {
  auto* chart = new QChart;
  chart->setBackgroundRoundness(0);
  chart->setMargins(QMargins(4, 4, 4, 4));
  chart->legend()->setAlignment(Qt::AlignRight);
  x = new QValueAxis(chart);
  x->setTitleText(QObject::tr("capture time (s)"));
  x->setLabelFormat(QStringLiteral("%g"));
  y = new QValueAxis(chart);
  y->setTitleText(ytitle);
  y->setLabelFormat(QStringLiteral("%.0f"));
  for (QValueAxis* a : {x, y}) {  // round ticks from 0 (set_range keeps them round)
    a->setRange(0, 1);
    a->setTickAnchor(0);
    a->setTickInterval(0.2);
    a->setTickType(QValueAxis::TicksDynamic);
  }
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  return chart;
}

/// Sets the axis to [lo, hi] with ticks at round values (1, 2 or 5 times a power of ten,
/// anchored at 0), 4 to 8 of them, instead of the range split in equal but odd parts.
/// Range and interval change in the order that never pairs a wide range with a fine
/// interval: in between, Qt Charts would lay out (and allocate) every tick of that pair.
void set_range(QValueAxis* a, double lo, double hi) {
  const double span = hi - lo;
  if (!(span > 0)) return;
  const double raw = span / 5;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  const double step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  if (step >= a->tickInterval()) {
    a->setTickInterval(step);
    a->setRange(lo, hi);
  } else {
    a->setRange(lo, hi);
    a->setTickInterval(step);
  }
}

}  // namespace

RatesView::RatesView(CaptureSession& session, QWidget* parent) : QWidget(parent), m_model(session.rates()) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);

  m_eventsChart = make_chart(m_eventsX, m_eventsY, tr("events/s"));
  m_total = line(m_eventsChart, tr("all sources"), m_eventsX, m_eventsY);
  for (int i = 0; i < kTopTokens; ++i) m_tokens.push_back(line(m_eventsChart, QString(), m_eventsX, m_eventsY));
  m_others = line(m_eventsChart, tr("others"), m_eventsX, m_eventsY);
  m_bytesChart = make_chart(m_bytesX, m_bytesY, tr("bytes/s"));
  m_bytesIn = line(m_bytesChart, tr("in (read)"), m_bytesX, m_bytesY);
  m_bytesOut = line(m_bytesChart, tr("out (written)"), m_bytesX, m_bytesY);

  // Never setUseOpenGL on these: the GL path crashes on the offscreen platform.
  m_eventsView = new QChartView(m_eventsChart, this);
  m_bytesView = new QChartView(m_bytesChart, this);
  for (QChartView* v : {m_eventsView, m_bytesView}) {
    v->setRenderHint(QPainter::Antialiasing, false);
    v->setFrameShape(QFrame::NoFrame);
    layout->addWidget(v, 1);
  }

  applyPalette();
  refresh();
}

void RatesView::setRange(std::uint64_t t0_ns, std::uint64_t t1_ns) {
  m_live = false;
  m_t0 = t0_ns;
  m_t1 = std::max(t1_ns, t0_ns + 1);
  refreshIfShown();
}

void RatesView::followRange(std::uint64_t t0_ns, std::uint64_t t1_ns) {
  m_live = false;
  m_t0 = t0_ns;
  m_t1 = std::max(t1_ns, t0_ns + 1);
  m_stale = true;
}

void RatesView::setLive(std::uint64_t window_ns) {
  m_live = true;
  m_window = window_ns;
  refreshIfShown();
}

void RatesView::setTokenTitles(std::function<QString(std::uint64_t)> titles) {
  m_titles = std::move(titles);
  refreshIfShown();
}

std::size_t RatesView::maxPoints() const {
  double width = std::min(m_eventsChart->plotArea().width(), m_bytesChart->plotArea().width());
  if (width < 1) width = m_eventsView->width();  // before the first layout
  return std::max<std::size_t>(2, static_cast<std::size_t>(2 * width));
}

void RatesView::onFrame(std::uint64_t, std::uint64_t, std::uint64_t) { refreshIfShown(); }

void RatesView::refreshIfShown() {
  if (!isVisible()) {  // a closed dock or a background tab costs nothing per frame
    m_stale = true;
    return;
  }
  refresh();
}

void RatesView::showEvent(QShowEvent* e) {
  QWidget::showEvent(e);
  if (m_stale) refresh();
}

void RatesView::refresh() {
  ++m_refreshes;
  m_stale = false;
  if (m_live) {
    constexpr std::uint64_t kSecond = 1'000'000'000;
    m_t1 = m_model.last_time_ns() + 1;
    m_t0 = m_window != 0 && m_t1 > m_window ? m_t1 - m_window : 0;
    m_t1 = std::max(m_t1, m_t0 + (m_window != 0 ? m_window : kSecond));  // a first second, not a dot
  }
  const std::size_t maxp = maxPoints();
  const auto total = m_model.total(RatesModel::Total::events, m_t0, m_t1, maxp);
  std::vector<std::uint64_t> shown_sum(total.counts.size(), 0);
  m_shown = m_model.top_tokens(m_t0, m_t1, kTopTokens);

  double ymax = 0;
  const auto tp = points(total);
  ymax = max_y(tp, ymax);
  m_total->replace(tp);
  for (std::size_t i = 0; i < m_tokens.size(); ++i) {
    QLineSeries* s = m_tokens[i];
    const bool used = i < m_shown.size();
    if (used) {
      const auto b = m_model.token_events(m_shown[i], m_t0, m_t1, maxp);
      for (std::size_t j = 0; j < b.counts.size(); ++j) shown_sum[j] += b.counts[j];
      const QString title = m_titles ? m_titles(m_shown[i]) : QString();
      s->setName(title.isEmpty() ? tr("token %1").arg(m_shown[i]) : title);
      s->replace(points(b));
    } else if (s->count() != 0) {
      s->clear();
    }
    s->setVisible(used);
    for (QLegendMarker* m : m_eventsChart->legend()->markers(s)) m->setVisible(used);
  }
  // "others" only when some events in the range belong to no line of their own.
  const auto op = points(total, &shown_sum);
  const bool others = max_y(op, 0) > 0;
  m_others->replace(others ? op : QList<QPointF>{});
  m_others->setVisible(others);
  for (QLegendMarker* m : m_eventsChart->legend()->markers(m_others)) m->setVisible(others);

  const auto in = points(m_model.total(RatesModel::Total::bytes_in, m_t0, m_t1, maxp));
  const auto out = points(m_model.total(RatesModel::Total::bytes_out, m_t0, m_t1, maxp));
  m_bytesIn->replace(in);
  m_bytesOut->replace(out);

  const double x0 = static_cast<double>(m_t0) / 1e9;
  const double x1 = static_cast<double>(m_t1) / 1e9;
  set_range(m_eventsX, x0, x1);
  set_range(m_bytesX, x0, x1);
  const double bmax = max_y(out, max_y(in, 0));
  set_range(m_eventsY, 0, ymax > 0 ? ymax * 1.05 : 10);
  set_range(m_bytesY, 0, bmax > 0 ? bmax * 1.05 : 10);
}

void RatesView::applyPalette() {
  const QPalette pal = palette();
  const bool dark = pal.color(QPalette::Base).lightness() < 128;
  for (QChartView* v : {m_eventsView, m_bytesView}) v->setBackgroundBrush(pal.brush(QPalette::Base));
  for (QChart* c : {m_eventsChart, m_bytesChart}) {
    c->setBackgroundBrush(pal.brush(QPalette::Base));
    c->setBackgroundPen(Qt::NoPen);
    c->setPlotAreaBackgroundVisible(false);
    c->legend()->setLabelColor(pal.color(QPalette::Text));
    c->setTitleBrush(pal.brush(QPalette::Text));
  }
  for (QValueAxis* a : {m_eventsX, m_eventsY, m_bytesX, m_bytesY}) {
    a->setLabelsColor(pal.color(QPalette::Text));
    a->setTitleBrush(pal.brush(QPalette::Text));
    a->setLinePenColor(pal.color(QPalette::Mid));
    QColor grid = pal.color(QPalette::Text);
    grid.setAlpha(dark ? 50 : 35);
    a->setGridLineColor(grid);
  }
  const auto pen = [](QLineSeries* s, const QColor& c, qreal w) {
    QPen p(c);
    p.setWidthF(w);
    s->setPen(p);
  };
  pen(m_total, pal.color(QPalette::Text), 2);
  pen(m_others, pal.color(QPalette::PlaceholderText), 1.5);
  // Source lines: hues evenly spaced from the highlight's, at a lightness that reads on Base.
  const QColor hl = pal.color(QPalette::Highlight);
  const int h0 = std::max(0, hl.hslHue());
  for (std::size_t i = 0; i < m_tokens.size(); ++i) {
    const int hue = (h0 + static_cast<int>(i) * 360 / kTopTokens) % 360;
    pen(m_tokens[i], QColor::fromHsl(hue, 170, dark ? 160 : 95), 1.5);
  }
  pen(m_bytesIn, direction_colour(capture::Direction::in), 2);
  pen(m_bytesOut, direction_colour(capture::Direction::out), 2);
}

void RatesView::changeEvent(QEvent* e) {
  QWidget::changeEvent(e);
  if (e->type() == QEvent::PaletteChange) applyPalette();
}

void RatesView::resizeEvent(QResizeEvent* e) {
  QWidget::resizeEvent(e);
  refreshIfShown();  // the point budget follows the width
}

}  // namespace ready::ui
