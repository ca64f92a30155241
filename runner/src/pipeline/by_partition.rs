//! A batch's record indices grouped by input partition. The groups are
//! kept from batch to batch, so grouping a steady stream allocates
//! nothing (a map of fresh vectors cost an allocation per partition per
//! batch, and a tree search per record).

#[derive(Debug, Default)]
pub struct ByPartition {
    groups: Vec<(i32, Vec<usize>)>,
    /// The groups of the current batch are `groups[..open]`; the rest wait,
    /// emptied, for a later batch.
    open: usize,
    /// The group the last record went to: records come in runs of one partition.
    last: usize,
}

impl ByPartition {
    /// Starts a new batch, with no group open.
    pub fn clear(&mut self) {
        for (_, indices) in &mut self.groups[..self.open] {
            indices.clear();
        }
        self.open = 0;
        self.last = 0;
    }

    /// The indices of `partition`'s records, opened (empty) if this batch
    /// had none yet: a partition whose records all fail still has a group.
    pub fn group(&mut self, partition: i32) -> &mut Vec<usize> {
        if self.last >= self.open || self.groups[self.last].0 != partition {
            self.last = match self.groups[..self.open].iter().position(|(p, _)| *p == partition) {
                Some(at) => at,
                None => self.open_group(partition),
            };
        }
        &mut self.groups[self.last].1
    }

    fn open_group(&mut self, partition: i32) -> usize {
        if self.open == self.groups.len() {
            self.groups.push((partition, Vec::new()));
        } else {
            self.groups[self.open].0 = partition;
        }
        self.open += 1;
        self.open - 1
    }

    /// The open groups, in partition order.
    pub fn in_order(&mut self) -> &[(i32, Vec<usize>)] {
        let open = &mut self.groups[..self.open];
        open.sort_unstable_by_key(|(partition, _)| *partition);
        self.last = self.open;
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(by: &mut ByPartition) -> Vec<(i32, Vec<usize>)> {
        by.in_order().to_vec()
    }

    #[test]
    fn indices_are_grouped_per_partition_in_partition_order() {
        let mut by = ByPartition::default();
        for (i, partition) in [2, 2, 0, 2, 1, 0].into_iter().enumerate() {
            by.group(partition).push(i);
        }
        by.group(3);
        assert_eq!(groups(&mut by), [(0, vec![2, 5]), (1, vec![4]), (2, vec![0, 1, 3]), (3, vec![])]);
    }

    #[test]
    fn a_new_batch_keeps_none_of_the_last_ones_groups() {
        let mut by = ByPartition::default();
        by.group(0).push(0);
        by.group(1).push(1);
        assert_eq!(groups(&mut by).len(), 2);
        by.clear();
        by.group(1).push(7);
        assert_eq!(groups(&mut by), [(1, vec![7])], "partition 0 sent nothing this batch");
        by.clear();
        assert!(groups(&mut by).is_empty());
        by.group(5).push(1);
        by.group(0).push(2);
        by.group(5).push(3);
        assert_eq!(groups(&mut by), [(0, vec![2]), (5, vec![1, 3])]);
    }
}
