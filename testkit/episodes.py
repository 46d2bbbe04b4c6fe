"""In-memory stand-ins for the forwarder's episode store (lambdas/forwarder/ports.EpisodeStorePort).

``InMemoryEpisodeStore`` keeps the DynamoDB store's semantics (an episode opens only when none is open for
its detection and account; expiry is checked on read); ``FailingEpisodeStore`` fails every call, as a
throttled, denied or unreachable table does.
"""

from __future__ import annotations

from datetime import datetime

from lambdas.forwarder.episodes import Episode, episode_item_key


class InMemoryEpisodeStore:
    def __init__(self) -> None:
        self.episodes: dict[str, Episode] = {}
        self.paged: dict[str, datetime] = {}

    def open_episode(self, episode: Episode, now: datetime) -> str:
        key = episode_item_key(episode.detection_id, episode.account_id)
        current = self.episodes.get(key)
        if current is not None and current.expires_at >= now:
            return current.dedup_key
        self.episodes[key] = episode
        return episode.dedup_key

    def already_paged(self, event_key: str, now: datetime) -> bool:
        expires_at = self.paged.get(event_key)
        return expires_at is not None and expires_at >= now

    def record_paged(self, event_key: str, expires_at: datetime) -> None:
        self.paged[event_key] = expires_at


class EpisodeStoreDownError(RuntimeError):
    pass


class FailingEpisodeStore:
    def __init__(self) -> None:
        self.calls = 0

    def _fail(self) -> None:
        self.calls += 1
        raise EpisodeStoreDownError("ProvisionedThroughputExceededException (simulated)")

    def open_episode(self, episode: Episode, now: datetime) -> str:
        self._fail()
        raise AssertionError("unreachable")

    def already_paged(self, event_key: str, now: datetime) -> bool:
        self._fail()
        raise AssertionError("unreachable")

    def record_paged(self, event_key: str, expires_at: datetime) -> None:
        self._fail()
