-- Places with names. An incident keeps the neighbourhood its export gives (a name people know
-- the area by, not a police district). Each micro place gets a label from its incidents' block
-- addresses, rebuilt after every incident load (`bodega::places`).
ALTER TABLE incidents ADD COLUMN neighbourhood TEXT NOT NULL DEFAULT '';

CREATE TABLE place_labels (
    epsg            INTEGER NOT NULL,            -- the lattice's UTM zone
    size_m          INTEGER NOT NULL,            -- its cell side
    ix              INTEGER NOT NULL,
    iy              INTEGER NOT NULL,
    block           TEXT    NOT NULL,            -- the most frequent block, written as people read it
    neighbourhood   TEXT    NOT NULL DEFAULT '', -- the most frequent neighbourhood, or ''
    incidents       INTEGER NOT NULL,            -- incidents at that block (the label's support)
    PRIMARY KEY (epsg, size_m, ix, iy)
);
