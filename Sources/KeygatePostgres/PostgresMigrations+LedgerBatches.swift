extension PostgresMigrations {
    /// Version 3: the ledger's hot path as one function call per batch (`PostgresBatcher`): `keygate_ledger_batch`
    /// applies the settlements, then the BYOK fees, then the reservations, that a process had waiting at one moment. One organisation's
    /// `credit_accounts` row takes only a few hundred durable commits a second, since a transaction keeps its row lock
    /// until its commit record is flushed; a batch shares that commit among all the requests waiting at the moment.
    ///
    /// Both functions answer each request on its own, computed exactly as the one-request transactions in
    /// `PostgresStore+Ledger` compute it, in the order given: a request is refused only if the balance left by the
    /// requests ahead of it does not cover it, which is what it would have seen alone (batching causes no 402).
    /// Lock order, as every other writer of the ledger: reservations by request id, then accounts by organisation id,
    /// each taken once at the start (`ORDER BY … FOR UPDATE`). Each account is read once and written once per run of
    /// its requests, so the hot row gets one new version per batch, not one per request.
    static let ledgerBatches = Migration(
        version: 3, name: "003_ledger_batches",
        statements: [
            """
            CREATE FUNCTION keygate_reserve_batch(
              p_orgs TEXT[], p_requests TEXT[], p_amounts BIGINT[], p_leases BIGINT[], p_instances TEXT[], p_now BIGINT)
            RETURNS TABLE (o_index INT, o_outcome TEXT, o_from_trial BIGINT, o_regular BIGINT, o_trial BIGINT,
              o_trial_expires_at BIGINT, o_reserved BIGINT)
            LANGUAGE plpgsql AS $$
            DECLARE
              n INT := coalesce(array_length(p_requests, 1), 0);
              cur TEXT;
              has_account BOOLEAN := false;
              dirty BOOLEAN := false;
              b_regular BIGINT; b_trial BIGINT; b_expiry BIGINT; b_reserved BIGINT;
              x BIGINT; t BIGINT;
              g_request TEXT[] := '{}'; g_org TEXT[] := '{}'; g_trial BIGINT[] := '{}'; g_amount BIGINT[] := '{}';
              g_lease BIGINT[] := '{}'; g_instance TEXT[] := '{}'; g_available BIGINT[] := '{}'; g_reserved BIGINT[] := '{}';
            BEGIN
              PERFORM 1 FROM credit_accounts WHERE organization_id = ANY(p_orgs) ORDER BY organization_id FOR UPDATE;
              FOR i IN 1..n LOOP
                IF i = 1 OR p_orgs[i] IS DISTINCT FROM cur THEN
                  IF dirty THEN
                    UPDATE credit_accounts SET regular_micros = b_regular, trial_micros = b_trial, reserved_micros = b_reserved,
                      updated_at = p_now WHERE organization_id = cur;
                  END IF;
                  dirty := false;
                  cur := p_orgs[i];
                  SELECT a.regular_micros, a.trial_micros, a.trial_expires_at, a.reserved_micros
                    INTO b_regular, b_trial, b_expiry, b_reserved FROM credit_accounts a WHERE a.organization_id = cur;
                  has_account := FOUND;
                END IF;
                x := p_amounts[i];
                IF EXISTS (SELECT 1 FROM reservations r WHERE r.request_id = p_requests[i]) THEN
                  o_outcome := 'duplicate'; o_from_trial := 0; o_regular := 0; o_trial := 0; o_trial_expires_at := NULL;
                  o_reserved := 0;
                ELSIF has_account AND GREATEST(b_trial, 0) + b_regular >= x THEN
                  -- The guard of the one-request reserve, on the running balance: trial first, then regular.
                  t := LEAST(GREATEST(b_trial, 0), x);
                  b_trial := b_trial - t;
                  b_regular := b_regular - (x - t);
                  b_reserved := b_reserved + x;
                  dirty := true;
                  g_request := g_request || p_requests[i]; g_org := g_org || cur; g_trial := g_trial || t;
                  g_amount := g_amount || x; g_lease := g_lease || p_leases[i]; g_instance := g_instance || p_instances[i];
                  g_available := g_available || (b_regular + b_trial); g_reserved := g_reserved || b_reserved;
                  o_outcome := 'reserved'; o_from_trial := t; o_regular := b_regular; o_trial := b_trial;
                  o_trial_expires_at := b_expiry; o_reserved := b_reserved;
                ELSE
                  o_outcome := 'insufficient'; o_from_trial := 0; o_regular := coalesce(b_regular, 0);
                  o_trial := coalesce(b_trial, 0); o_trial_expires_at := b_expiry; o_reserved := coalesce(b_reserved, 0);
                END IF;
                o_index := i;
                RETURN NEXT;
              END LOOP;
              IF dirty THEN
                UPDATE credit_accounts SET regular_micros = b_regular, trial_micros = b_trial, reserved_micros = b_reserved,
                  updated_at = p_now WHERE organization_id = cur;
              END IF;
              INSERT INTO reservations (request_id, organization_id, trial_micros, regular_micros, state, instance_id,
                lease_expires_at, created_at)
              SELECT u.r, u.o, u.t, u.a - u.t, 'open', u.i, u.l, p_now
              FROM unnest(g_request, g_org, g_trial, g_amount, g_lease, g_instance) AS u(r, o, t, a, l, i);
              INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                available_after_micros, reserved_after_micros, request_id, reason, created_at)
              SELECT u.o, 'reserve', -(u.a - u.t), -u.t, u.a, u.av, u.rs, u.r, NULL, p_now
              FROM unnest(g_request, g_org, g_trial, g_amount, g_available, g_reserved) WITH ORDINALITY AS u(r, o, t, a, av, rs, k)
              ORDER BY u.k;
            END $$
            """,
            // Returns one row for each request it settled (by its position in the arrays); a request it does not name
            // had no reservation left (already settled: a retry), or appeared earlier in the same batch.
            """
            CREATE FUNCTION keygate_settle_batch(p_requests TEXT[], p_costs BIGINT[], p_fees BIGINT[], p_now BIGINT)
            RETURNS TABLE (o_index INT)
            LANGUAGE plpgsql AS $$
            DECLARE
              s RECORD;
              cur TEXT;
              dirty BOOLEAN := false;
              b_regular BIGINT; b_trial BIGINT; b_reserved BIGINT;
              rt BIGINT; rr BIGINT; amt BIGINT; ft BIGINT; fr BIGINT; over BIGINT; ot BIGINT;
              e_org TEXT[] := '{}'; e_kind TEXT[] := '{}'; e_regular BIGINT[] := '{}'; e_trial BIGINT[] := '{}';
              e_reserved BIGINT[] := '{}'; e_available_after BIGINT[] := '{}'; e_reserved_after BIGINT[] := '{}';
              e_request TEXT[] := '{}'; e_reason TEXT[] := '{}';
              settled TEXT[] := '{}';
            BEGIN
              PERFORM 1 FROM reservations WHERE request_id = ANY(p_requests) ORDER BY request_id FOR UPDATE;
              PERFORM 1 FROM credit_accounts WHERE organization_id IN (
                SELECT r.organization_id FROM reservations r WHERE r.request_id = ANY(p_requests))
              ORDER BY organization_id FOR UPDATE;
              FOR s IN
                SELECT u.req, u.cost, u.fee, u.k, r.organization_id AS org, r.trial_micros AS held_trial,
                  r.regular_micros AS held_regular, r.state
                FROM (SELECT DISTINCT ON (x.req) x.req, x.cost, x.fee, x.k
                      FROM unnest(p_requests, p_costs, p_fees) WITH ORDINALITY AS x(req, cost, fee, k) ORDER BY x.req, x.k) u
                JOIN reservations r ON r.request_id = u.req
                ORDER BY r.organization_id, u.k
              LOOP
                IF s.org IS DISTINCT FROM cur THEN
                  IF dirty THEN
                    UPDATE credit_accounts SET regular_micros = b_regular, trial_micros = b_trial, reserved_micros = b_reserved,
                      updated_at = p_now WHERE organization_id = cur;
                  END IF;
                  cur := s.org;
                  SELECT a.regular_micros, a.trial_micros, a.reserved_micros INTO b_regular, b_trial, b_reserved
                    FROM credit_accounts a WHERE a.organization_id = cur;
                  IF NOT FOUND THEN
                    RAISE EXCEPTION 'organisation % has no credit account', cur;
                  END IF;
                END IF;
                dirty := true;
                -- Open: its hold pays first (trial part first). Released by the sweeper: available pays, the work was done.
                rt := CASE WHEN s.state = 'open' THEN s.held_trial ELSE 0 END;
                rr := CASE WHEN s.state = 'open' THEN s.held_regular ELSE 0 END;
                FOR j IN 1..2 LOOP
                  amt := CASE WHEN j = 1 THEN s.cost ELSE s.fee END;
                  CONTINUE WHEN amt <= 0;
                  ft := LEAST(amt, rt); rt := rt - ft;
                  fr := LEAST(amt - ft, rr); rr := rr - fr;
                  over := amt - ft - fr;
                  ot := CASE WHEN over > 0 THEN LEAST(over, GREATEST(b_trial, 0)) ELSE 0 END;
                  b_regular := b_regular - (over - ot); b_trial := b_trial - ot; b_reserved := b_reserved - (ft + fr);
                  e_org := e_org || cur; e_kind := e_kind || (CASE WHEN j = 1 THEN 'settle' ELSE 'fee' END)::TEXT;
                  e_regular := e_regular || (ot - over); e_trial := e_trial || (-ot); e_reserved := e_reserved || (-(ft + fr));
                  e_available_after := e_available_after || (b_regular + b_trial); e_reserved_after := e_reserved_after || b_reserved;
                  e_request := e_request || s.req; e_reason := e_reason || (CASE WHEN over > 0 THEN 'overage' END)::TEXT;
                END LOOP;
                IF rt + rr > 0 THEN
                  b_regular := b_regular + rr; b_trial := b_trial + rt; b_reserved := b_reserved - (rt + rr);
                  e_org := e_org || cur; e_kind := e_kind || 'release'::TEXT;
                  e_regular := e_regular || rr; e_trial := e_trial || rt; e_reserved := e_reserved || (-(rt + rr));
                  e_available_after := e_available_after || (b_regular + b_trial); e_reserved_after := e_reserved_after || b_reserved;
                  e_request := e_request || s.req; e_reason := e_reason || 'unused part of the reservation'::TEXT;
                END IF;
                settled := settled || s.req;
                o_index := s.k;
                RETURN NEXT;
              END LOOP;
              IF dirty THEN
                UPDATE credit_accounts SET regular_micros = b_regular, trial_micros = b_trial, reserved_micros = b_reserved,
                  updated_at = p_now WHERE organization_id = cur;
              END IF;
              INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                available_after_micros, reserved_after_micros, request_id, reason, created_at)
              SELECT u.o, u.kind, u.rg, u.tr, u.rs, u.av, u.ra, u.req, u.reason, p_now
              FROM unnest(e_org, e_kind, e_regular, e_trial, e_reserved, e_available_after, e_reserved_after, e_request, e_reason)
                WITH ORDINALITY AS u(o, kind, rg, tr, rs, av, ra, req, reason, k)
              ORDER BY u.k;
              DELETE FROM reservations WHERE request_id = ANY(settled);
            END $$
            """,
            // BYOK fees: charged from available (trial first), outside any reservation, like `chargeFee` alone. The
            // caller sends them grouped by organisation and has made sure every account exists and is locked.
            """
            CREATE FUNCTION keygate_fee_batch(p_orgs TEXT[], p_requests TEXT[], p_amounts BIGINT[], p_now BIGINT)
            RETURNS TABLE (o_index INT)
            LANGUAGE plpgsql AS $$
            DECLARE
              n INT := coalesce(array_length(p_requests, 1), 0);
              cur TEXT;
              b_regular BIGINT; b_trial BIGINT; b_reserved BIGINT;
              amt BIGINT; ft BIGINT;
              e_org TEXT[] := '{}'; e_regular BIGINT[] := '{}'; e_trial BIGINT[] := '{}'; e_available_after BIGINT[] := '{}';
              e_reserved_after BIGINT[] := '{}'; e_request TEXT[] := '{}';
            BEGIN
              FOR i IN 1..n LOOP
                IF i = 1 OR p_orgs[i] IS DISTINCT FROM cur THEN
                  IF i > 1 THEN
                    UPDATE credit_accounts SET regular_micros = b_regular, trial_micros = b_trial, updated_at = p_now
                    WHERE organization_id = cur;
                  END IF;
                  cur := p_orgs[i];
                  SELECT a.regular_micros, a.trial_micros, a.reserved_micros INTO b_regular, b_trial, b_reserved
                    FROM credit_accounts a WHERE a.organization_id = cur;
                  IF NOT FOUND THEN
                    RAISE EXCEPTION 'organisation % has no credit account', cur;
                  END IF;
                END IF;
                amt := p_amounts[i];
                ft := LEAST(amt, GREATEST(b_trial, 0));
                b_trial := b_trial - ft;
                b_regular := b_regular - (amt - ft);
                e_org := e_org || cur; e_regular := e_regular || (ft - amt); e_trial := e_trial || (-ft);
                e_available_after := e_available_after || (b_regular + b_trial); e_reserved_after := e_reserved_after || b_reserved;
                e_request := e_request || p_requests[i];
                o_index := i;
                RETURN NEXT;
              END LOOP;
              IF n > 0 THEN
                UPDATE credit_accounts SET regular_micros = b_regular, trial_micros = b_trial, updated_at = p_now
                WHERE organization_id = cur;
              END IF;
              INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                available_after_micros, reserved_after_micros, request_id, reason, created_at)
              SELECT u.o, 'fee', u.rg, u.tr, 0, u.av, u.ra, u.req, 'byok fee', p_now
              FROM unnest(e_org, e_regular, e_trial, e_available_after, e_reserved_after, e_request)
                WITH ORDINALITY AS u(o, rg, tr, av, ra, req, k)
              ORDER BY u.k;
            END $$
            """,
            // What a process sends: the settlements waiting at the moment, then the BYOK fees, then the reservations, in
            // one statement and one commit. A fee's account is made first if it has none (a fee may come before any
            // grant). Every lock of the three parts is then taken at once, in the one order (the settled reservations by
            // request id, then every account any part touches by organisation id), so that no part takes an account
            // lock out of order after another.
            """
            CREATE FUNCTION keygate_ledger_batch(
              s_requests TEXT[], s_costs BIGINT[], s_fees BIGINT[],
              f_orgs TEXT[], f_requests TEXT[], f_amounts BIGINT[],
              r_orgs TEXT[], r_requests TEXT[], r_amounts BIGINT[], r_leases BIGINT[], r_instances TEXT[], p_now BIGINT)
            RETURNS TABLE (o_kind TEXT, o_index INT, o_outcome TEXT, o_from_trial BIGINT, o_regular BIGINT, o_trial BIGINT,
              o_trial_expires_at BIGINT, o_reserved BIGINT)
            LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO credit_accounts (organization_id, updated_at)
              SELECT DISTINCT u.o, p_now FROM unnest(f_orgs) AS u(o)
              ON CONFLICT (organization_id) DO NOTHING;
              PERFORM 1 FROM reservations WHERE request_id = ANY(s_requests) ORDER BY request_id FOR UPDATE;
              PERFORM 1 FROM credit_accounts
              WHERE organization_id = ANY(r_orgs) OR organization_id = ANY(f_orgs)
                OR organization_id IN (SELECT r.organization_id FROM reservations r WHERE r.request_id = ANY(s_requests))
              ORDER BY organization_id FOR UPDATE;
              RETURN QUERY SELECT 'settle'::TEXT, s.o_index, NULL::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT,
                  NULL::BIGINT
                FROM keygate_settle_batch(s_requests, s_costs, s_fees, p_now) s;
              RETURN QUERY SELECT 'fee'::TEXT, f.o_index, NULL::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT,
                  NULL::BIGINT
                FROM keygate_fee_batch(f_orgs, f_requests, f_amounts, p_now) f;
              RETURN QUERY SELECT 'reserve'::TEXT, r.o_index, r.o_outcome, r.o_from_trial, r.o_regular, r.o_trial,
                  r.o_trial_expires_at, r.o_reserved
                FROM keygate_reserve_batch(r_orgs, r_requests, r_amounts, r_leases, r_instances, p_now) r;
            END $$
            """,
        ])
}
