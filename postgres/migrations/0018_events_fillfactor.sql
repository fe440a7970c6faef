-- 0018_events_fillfactor: an event's pages keep half their room for the
-- new versions of its rows. A lease writes lease_until alone, which no
-- index holds, so its UPDATE is HOT (no index entry written) when the new
-- version fits in the row's own page; with rows of 1-2 KB (the sealed
-- body inline) a full page has no room for it. At fillfactor 50 inserts
-- fill a page to half, and the other half takes the leased versions of
-- its rows.
ALTER TABLE events SET (fillfactor = 50);
