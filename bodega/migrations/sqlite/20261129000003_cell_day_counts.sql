-- Per-cell, per-local-day, per-offence counts of each district's mappable incidents: what the
-- scoring core and the officers' devices read (bodega::aggregates). Derived data, rebuilt per
-- district whenever that district's incidents change; never edited by hand.
CREATE TABLE cell_day_counts (
    lattice         TEXT    NOT NULL,            -- 'EPSG:32610/150m America/Vancouver'
    district_code   TEXT    NOT NULL,
    day             TEXT    NOT NULL,            -- local date, YYYY-MM-DD
    ix              INTEGER NOT NULL,            -- lattice column, floor(easting / size)
    iy              INTEGER NOT NULL,            -- lattice row, floor(northing / size)
    offense         TEXT    NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (lattice, district_code, day, ix, iy, offense)
);

-- A counter per district, moved in the same transaction as every change to its incidents
-- (ingest, district assignment); '*' moves when a load changed incidents already stored, which
-- may have left any district.
CREATE TABLE cell_day_versions (
    district_code   TEXT    PRIMARY KEY,
    version         INTEGER NOT NULL
);

-- The versions each district's counts were built from, per lattice.
CREATE TABLE cell_day_built (
    lattice         TEXT    NOT NULL,
    district_code   TEXT    NOT NULL,
    version         TEXT    NOT NULL,            -- '<district version>/<* version>'
    PRIMARY KEY (lattice, district_code)
);
