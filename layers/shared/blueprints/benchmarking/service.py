"""The pricing step of one costing: price the collection, keep the line items for audit, answer the
state machine; a costing that cannot complete is logged and counted (the ``CostPricesMissing`` metric
feeds the alarm on launches that stay PENDING)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from blueprints.benchmarking.costing import Pricer, audit_document, state_output
from blueprints.benchmarking.models import Collection
from blueprints.benchmarking.ports import AuditStore
from blueprints.benchmarking.pricebook import PriceBook
from blueprints.core.observability import count, logger

MISSING_METRIC = "CostPricesMissing"
UNSUPPORTED_METRIC = "CostUnsupported"


def price_launch(collection: Collection, book: PriceBook, audit: AuditStore) -> dict[str, Any]:
    logger.append_keys(launch_id=collection.launch_id, attempt=collection.attempt)
    costing = Pricer(book).price(collection)
    uri = ""
    if costing.complete:
        document = audit_document(collection, costing, book.stats)
        priced = [
            {name: value for name, value in item.items() if name not in ("price_source", "cache_hit")}
            for item in document["line_items"]
        ]  # what was priced, not where the price came from: a repeated costing names the same object
        digest = hashlib.sha256(json.dumps(priced, sort_keys=True).encode()).hexdigest()
        uri = audit.put(f"costs/{collection.launch_id}/a{collection.attempt}/{digest[:16]}.json", document)
        logger.info(
            "Launch priced",
            line_items=len(costing.line_items),
            price_list_calls=book.stats.price_list_calls,
            cache_hits=book.stats.cache_hits + book.stats.memo_hits,
        )
    elif collection.unsupported:
        logger.warning("Compute not visible; the launch is not costed", unsupported=collection.unsupported)
        count(UNSUPPORTED_METRIC, {})
    else:
        logger.warning("Prices missing; the costing stays pending", missing=costing.missing)
        count(MISSING_METRIC, {})
    return state_output(collection, costing, book.stats, uri)
