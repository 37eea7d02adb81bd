-- Acquisitions (SK6): an organisation that opened a seeker's details holds them until their
-- deletion deadline. One open acquisition per organisation and seeker; after its deletion,
-- opening the details again is a new acquisition.
CREATE TABLE acquisitions (
    id              uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    seeker_id       text NOT NULL,
    acquired_at     timestamptz NOT NULL,
    acquired_on     date NOT NULL,
    accepted_on     date,
    deletion_due    date NOT NULL,
    deletion_rule   text NOT NULL,
    deleted_at      timestamptz
);
CREATE UNIQUE INDEX acquisitions_held ON acquisitions (organisation_id, seeker_id) WHERE deleted_at IS NULL;
-- What an organisation holds, soonest deletion first (the list and its cursor).
CREATE INDEX acquisitions_due ON acquisitions (organisation_id, deletion_due, id) WHERE deleted_at IS NULL;
