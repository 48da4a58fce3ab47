-- stint schema, version 8 (PostgreSQL): inserts announce their own queues.
--
-- The insert trigger of version 1 read the inserted rows from a transition table to name their
-- queues, which made PostgreSQL copy every inserted row: 15-20 % of a 1,000-job insert. stint's
-- own inserts now NOTIFY their queues themselves: the one-statement inserts in the statement,
-- the store's transactions before they commit. Both mark their transaction with the setting
-- `stint.notified` (transaction-local). An insert in a transaction without the mark still wakes
-- workers: the trigger, with no list of queues, announces jobs in every queue (`a:`).
CREATE OR REPLACE FUNCTION {{schema}}.notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('stint.notified', true) IS DISTINCT FROM 'on' THEN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.jobs', 'a:');
  END IF;
  RETURN NULL;
END
$$;
DROP TRIGGER jobs_inserted ON {{schema}}.jobs;
CREATE TRIGGER jobs_inserted AFTER INSERT ON {{schema}}.jobs
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.notify_inserted();
