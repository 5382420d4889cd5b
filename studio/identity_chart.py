"""The inspector's identity panel: per-frame identity scores of a take as a small chart,
the threshold line, and the worst frame (engine.generate.identity)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.i18n import tr

LINE_COLORS = ("#38bdf8", "#f472b6", "#a3e635", "#facc15")


class ScoreChart(QWidget):
    """Per-frame scores (0..1) of each character, the threshold dashed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: list[tuple[str, list[float | None]]] = []
        self.threshold = 0.5
        self.setMinimumSize(160, 56)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(220, 64)

    def set_series(self, series: list[tuple[str, list[float | None]]], threshold: float) -> None:
        self.series, self.threshold = series, threshold
        self.update()

    def paintEvent(self, _event: Any) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        p.fillRect(r, QColor("#1b1e25"))
        y_of = lambda v: r.bottom() - v * r.height()  # noqa: E731
        p.setPen(QPen(QColor("#ef4444"), 1, Qt.PenStyle.DashLine))
        level = y_of(self.threshold)
        p.drawLine(QPointF(r.left(), level), QPointF(r.right(), level))
        for k, (_name, values) in enumerate(self.series):
            n = len(values)
            if not n:
                continue
            p.setPen(QPen(QColor(LINE_COLORS[k % len(LINE_COLORS)]), 2))
            x_of = lambda i, n=n: r.left() + (i + 0.5) * r.width() / n  # noqa: E731
            last: QPointF | None = None
            for i, v in enumerate(values):
                if v is None:  # no face in this frame: a gap in the line
                    last = None
                    continue
                point = QPointF(x_of(i), y_of(v))
                if last is not None:
                    p.drawLine(last, point)
                p.drawEllipse(point, 1.5, 1.5)
                last = point
        p.end()


class IdentityPanel(QWidget):
    """A take's identity: a one-line summary, the chart and the worst frame."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        row = QHBoxLayout()
        self.chart = ScoreChart()
        self.worst = QLabel()
        self.worst.setFixedSize(72, 72)
        self.worst.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.chart, 1)
        row.addWidget(self.worst)
        layout.addLayout(row)
        self.take_id: str | None = None
        # the worst frame, decoded once per take and scoring
        self._worst_cache: dict[tuple[str, str], tuple[QPixmap, float]] = {}

    def show_take(self, store: Any, take: Any) -> None:
        from engine.generate import identity

        self.take_id = take.id if take is not None else None
        if take is None:
            self.setVisible(False)
            return
        threshold = identity.threshold_for(store)
        scores = identity.identity_of(store, take)
        status = scores.get("status")
        chars = scores.get("characters", {}) if status == identity.SCORED else {}
        self.setVisible(True)
        has_chart = bool(chars)
        self.chart.setVisible(has_chart)
        self.worst.setVisible(has_chart)
        if not status:
            self.summary.setText(tr("Identity: not scored yet"))
            return
        if status == identity.NOT_APPLICABLE:
            self.summary.setText(tr("Identity: not applicable (animatic figures have no faces)")
                                 if take.kind == "animatic" else tr("Identity: not applicable"))
            return
        if status == identity.NO_FACE:
            self.summary.setText(tr("Identity: no face found in this take"))
            return
        parts = []
        for c in chars.values():
            score = c.get("score")
            text = f"{c.get('name', '?')} {score:.2f}" if score is not None else \
                f"{c.get('name', '?')} –"
            if score is not None and score < threshold:
                text += " ⚠"
            parts.append(text)
        flag = tr("drift") if identity.drifted(scores, threshold) else "ok"
        self.summary.setText(f"{tr('Identity')}: {' · '.join(parts)} ({flag}, "
                             f"{tr('threshold')} {threshold:.2f})")
        self.chart.set_series([(c.get("name", "?"), list(c.get("per_frame") or []))
                               for c in chars.values()], threshold)
        self._show_worst(store, take)

    def _show_worst(self, store: Any, take: Any) -> None:
        from engine.generate import identity

        key = (take.id, str(take.identity.get("scored_at")))
        if key not in self._worst_cache:
            found = identity.worst_frame(store, take)
            if found is None:
                self.worst.clear()
                return
            t, rgb = found
            h, w = rgb.shape[:2]
            image = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            if len(self._worst_cache) > 64:
                self._worst_cache.clear()
            self._worst_cache[key] = (QPixmap.fromImage(image).scaled(
                self.worst.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation), t)
        pixmap, t = self._worst_cache[key]
        self.worst.setPixmap(pixmap)
        self.worst.setToolTip(tr("Worst frame") + f" @ {t:.2f}s")
