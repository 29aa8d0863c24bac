//! Campaign records with their registration, custom fields and additional phone numbers. A
//! record is created, waits as New, is dialled (Processing), may be rescheduled and dialled
//! again, and is closed; its status is wherever that timeline stands at the cutoff.

use super::calendar::{DAY, MINUTE, Ms, civil, seconds};
use super::copy::Table;
use super::generator::Tables;
use super::rng::Rng;
use super::tenant::Tenant;
use super::words;

/// Writes `count` campaign records.
pub fn write_records(t: &Tenant, rng: &mut Rng, count: u32, tables: &mut Tables) {
    let tid = t.def.id;
    let cutoff = t.cutoff();
    let weights: Vec<f64> = t.day_counts.iter().map(|c| f64::from(*c) + 1.0).collect();
    for _ in 0..count {
        // Created during a (preferably open) day, before the cutoff.
        let day = rng.weighted(&weights);
        let d = &t.calendar.days[day];
        let created = match d.open {
            Some((o, c)) => o + ((c - o) as f64 * rng.unit()) as Ms,
            None => t.calendar.at(day, rng.real(9.0, 17.0) * 3600.0),
        }
        .min(cutoff - 10 * MINUTE);
        let usable: Vec<usize> = (0..t.campaigns.len()).filter(|c| t.campaigns[*c].usable_until > created).collect();
        let campaign = if usable.is_empty() { 0 } else { *rng.pick(&usable) };
        let callback = t.def.campaigns[campaign].1 == "Callback";
        let customer = t.random_customer(rng);
        let id = rng.guid();

        let new = if callback {
            rng.lognormal_ms(30.0 * 60.0, 1.0, 60.0, 86_400.0)
        } else {
            rng.lognormal_ms(12.0 * 3600.0, 1.0, 300.0, 7.0 * 86_400.0)
        };
        // Processing: waiting in the dialler's queue and being dialled.
        let first = rng.lognormal_ms(2.0 * 3600.0, 1.0, 60.0, 2.0 * 86_400.0);
        let rescheduled = rng.chance(0.3).then(|| rng.lognormal_ms(86_400.0, 0.8, 3600.0, 5.0 * 86_400.0));
        let second = rng.lognormal_ms(3600.0, 1.0, 60.0, 86_400.0);
        let attempts = if rescheduled.is_some() { 2 } else { 1 };
        let ring: Ms = (0..attempts).map(|_| rng.secs(5.0, 30.0)).sum();
        let talk = if rng.chance(0.7) { rng.lognormal_ms(180.0, 0.8, 10.0, 1800.0) } else { 0 };

        let t_processing = created + new;
        let t_rescheduled = t_processing + first;
        let (closed_at, status, new_s, queued_s, resched_s) = match rescheduled {
            _ if t_processing > cutoff => (None, "New", None, None, None),
            _ if t_rescheduled > cutoff => (None, "Processing", Some(new), None, None),
            None => (Some(t_rescheduled), "Closed", Some(new), Some(first), Some(0)),
            Some(r) if t_rescheduled + r > cutoff => (None, "Rescheduled", Some(new), Some(first), None),
            Some(r) if t_rescheduled + r + second > cutoff => (None, "Processing", Some(new), Some(first), Some(r)),
            Some(r) => (Some(t_rescheduled + r + second), "Closed", Some(new), Some(first + second), Some(r)),
        };
        let dialled = queued_s.is_some();
        tables
            .get(Table::CampaignRecords)
            .text(tid)
            .text(id.as_str())
            .text(t.campaigns[campaign].id.as_str())
            .text(status)
            .ts(created)
            .opt_ts(closed_at)
            .text(customer.first)
            .text(customer.last)
            .text(&customer.phone)
            .opt_int(new_s.map(seconds))
            .opt_int(queued_s.map(seconds))
            .opt_int(resched_s.map(seconds))
            .opt_int(dialled.then(|| seconds(ring)))
            .opt_int(dialled.then(|| seconds(talk)))
            .end();
        tables
            .get(Table::CampaignRecordRegistrations)
            .text(tid)
            .text(id.as_str())
            .text(t.campaigns[campaign].id.as_str())
            .text(customer.first)
            .text(customer.last)
            .text(&customer.phone)
            .end();

        let n = rng.int(1, 3) as usize;
        let mut fields: Vec<usize> = Vec::with_capacity(n);
        while fields.len() < n {
            let f = rng.below(words::CUSTOM_FIELDS.len());
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
        for f in fields {
            let (name, values) = words::CUSTOM_FIELDS[f];
            let value = match name {
                "ContractNumber" => format!("CN-{}", rng.digits(7)),
                "LastOrderDate" => {
                    let (y, m, d, ..) = civil(created - rng.int(3, 400) * DAY);
                    format!("{y:04}-{m:02}-{d:02}")
                }
                _ => rng.pick(values).to_string(),
            };
            tables.get(Table::CampaignRecordCustomFields).text(tid).text(id.as_str()).text(name).text(&value).end();
        }

        let extra = rng.choose(&[(0usize, 60.0), (1, 30.0), (2, 10.0)]);
        let mut phones: Vec<String> = Vec::with_capacity(extra);
        let mut tries = 0;
        while phones.len() < extra && tries < 10 {
            tries += 1;
            let other = t.customer(rng.next_u64() % (t.customers * 4)).phone;
            if other != customer.phone && !phones.contains(&other) {
                phones.push(other);
            }
        }
        for p in phones {
            tables.get(Table::CampaignRecordAdditionalPhoneNumbers).text(tid).text(id.as_str()).text(&p).end();
        }
    }
}
