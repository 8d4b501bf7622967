"""`jurist review`: people label a run's items in a local web app, next to the judge (app.py), into the run's review
store (store.py: SQLite in WAL mode); their labels feed the rest of jurist through `review_labels` (labels.py)."""

from .app import (
    QUEUES,
    ReviewOptions,
    ReviewSession,
    aserve_review,
    load_queue,
    open_session,
    review_app,
    serve_review,
)
from .labels import combine, live_agreement, review_labels
from .store import STORE_FILE, ReviewLabel, ReviewStore

__all__ = [
    "QUEUES",
    "STORE_FILE",
    "ReviewLabel",
    "ReviewOptions",
    "ReviewSession",
    "ReviewStore",
    "aserve_review",
    "combine",
    "live_agreement",
    "load_queue",
    "open_session",
    "review_app",
    "review_labels",
    "serve_review",
]
